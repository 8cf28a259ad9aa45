"""The Model Registry calls `promote` makes, served beside the JobService over the real messages.

`google.cloud.aiplatform.v1.ModelService`, the part `scripts.registry.promotion` uses:

- `UploadModel`: a new model (`model_id`, or a number when none is given) as version 1 with the
  `default` alias, or a new version of `parent_model` (versions count up: 1, 2, ...). The
  long-running operation comes back already done, its response an `UploadModelResponse`, so the
  GAPIC `operation.result()` returns without polling (google.api_core's `Operation` asks
  GetOperation only while `done` is false).
- `GetModel`: `…/models/ID` (the version with the `default` alias), `…/models/ID@VERSION` or
  `…/models/ID@ALIAS`.
- `ListModelVersions`: oldest first; `filter` with `labels.KEY="VALUE"`, `labels.KEY:*` and
  `display_name`, joined by AND and OR as the JobService's List reads them; page tokens.
- `MergeVersionAliases`: `alias` adds (taken off the version that had it), `-alias` removes.

Aliases are unique within a model: a version uploaded or merged with an alias another version
holds takes it ("How to use model version aliases": applying an alias another version uses
removes it from that version, https://cloud.google.com/vertex-ai/docs/model-registry/model-alias);
exactly one version holds `default`, so it cannot be removed, only moved.

Models live in the store's `models` table (`scripts.emulator.store`), so they outlive a restart.
A request Vertex AI would refuse is INVALID_ARGUMENT naming the field (the `aiplatform.v1`
reference: `display_name` required, at most 128 characters; `container_spec.image_uri` required
for a model that is not AutoML; `model_id` and alias patterns; labels as on every resource); an
`artifact_uri` must be a `gs://` directory that holds files, which here means under the state
directory's `gcs/` (`scripts.emulator.contract.output_directory`).
"""

from __future__ import annotations

import re
from pathlib import Path

import grpc
from google.cloud.aiplatform_v1 import (
    GetModelRequest,
    ListModelVersionsRequest,
    ListModelVersionsResponse,
    MergeVersionAliasesRequest,
    Model,
    UploadModelOperationMetadata,
    UploadModelRequest,
    UploadModelResponse,
)
from google.longrunning import operations_pb2

from scripts.emulator.contract import OutsideStateDir, output_directory
from scripts.emulator.server import (
    RpcFailure,
    check_parent,
    done_operation,
    invalid,
    page_of,
    parse_filter,
    service_handler,
)
from scripts.emulator.store import ModelExists, ModelMissing, Store
from scripts.experiments import rules
from scripts.registry.names import DEFAULT_ALIAS, MODEL_ID, alias_problem, parse_model_name

SERVICE = "google.cloud.aiplatform.v1.ModelService"
_STATE_TERM = re.compile(r"(^|[\s(])state\s*(!=|=|:)")


class ModelService:
    """The methods, as plain functions of the request; `handlers` wraps them for the server."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.state_dir: Path = store.path.parent

    # -- UploadModel ------------------------------------------------------------------------------

    def upload(self, request: UploadModelRequest) -> operations_pb2.Operation:
        check_parent(request.parent)
        if "model" not in request:
            raise invalid("model: required")
        self._check_model(request.model)
        model = Model(request.model)
        for output_only in ("name", "version_id", "create_time", "update_time", "deployed_models"):
            Model.pb(model).ClearField(output_only)
        if request.parent_model:
            parent_model = parse_model_name(request.parent_model)
            if parent_model is None or parent_model.version or parent_model.parent != request.parent:
                raise invalid(
                    f"parent_model: expected a model under {request.parent}, got {request.parent_model!r}"
                )
            if request.model_id and request.model_id != parent_model.id:
                raise invalid("model_id: must be empty (or the parent model's id) when parent_model is set")
            model.name = parent_model.model
            first = False
        else:
            model_id = request.model_id or self._next_model_id(request.parent)
            if not MODEL_ID.fullmatch(model_id):
                raise invalid(
                    f"model_id: {model_id!r} must be at most 63 of [a-z0-9_-], "
                    "the first neither a digit nor '-'"
                )
            model.name = f"{request.parent}/models/{model_id}"
            first = True
        try:
            stored = self.store.add_model_version(model, first=first)
        except ModelExists:
            raise RpcFailure(grpc.StatusCode.ALREADY_EXISTS, f"Model {model.name} already exists") from None
        except ModelMissing:
            raise RpcFailure(
                grpc.StatusCode.NOT_FOUND, f"parent_model: Model {request.parent_model} not found"
            ) from None
        response = UploadModelResponse(model=stored.name, model_version_id=stored.version_id)
        name = f"{stored.name}/operations/upload-{stored.version_id}"
        return done_operation(name, UploadModelOperationMetadata, UploadModelResponse.pb(response))

    def _check_model(self, model: Model) -> None:
        """INVALID_ARGUMENT for what Vertex AI documents as required or malformed, naming the field."""
        problem = rules.display_name_problem(model.display_name) if model.display_name else "required"
        if problem:
            raise invalid(f"model.display_name: {problem}")
        if not model.container_spec.image_uri:
            raise invalid("model.container_spec.image_uri: required (the container that serves the model)")
        problem = rules.label_count_problem(len(model.labels))
        if problem:
            raise invalid(f"model.labels: {problem}")
        for key, value in model.labels.items():
            found = rules.label_problem(key, value)
            if found:
                raise invalid(f"model.labels[{key!r}]: {found[1]}")
        for index, alias in enumerate(model.version_aliases):
            problem = alias_problem(alias)
            if problem:
                raise invalid(f"model.version_aliases[{index}]: {problem}")
        if len(set(model.version_aliases)) != len(model.version_aliases):
            raise invalid("model.version_aliases: each alias at most once")
        if model.artifact_uri:
            self._check_artifacts(model.artifact_uri)

    def _check_artifacts(self, uri: str) -> None:
        try:
            directory = output_directory(uri, self.state_dir)
        except OutsideStateDir as error:
            raise invalid(
                f"model.artifact_uri: {error}: a Cloud Storage directory (gs://BUCKET/PATH)"
            ) from None
        if not directory.is_dir() or not any(directory.iterdir()):
            raise invalid(f"model.artifact_uri: no files under {uri} (here: {directory})")

    def _next_model_id(self, parent: str) -> str:
        """Vertex AI numbers a model uploaded without an id; here the lowest free number from 1."""
        number = 1
        while self.store.model_versions(f"{parent}/models/{number}"):
            number += 1
        return str(number)

    # -- reading ----------------------------------------------------------------------------------

    def _versions(self, name: str) -> list[Model]:
        parsed = parse_model_name(name)
        if parsed is None:
            raise invalid(f"name: expected projects/P/locations/L/models/ID[@VERSION], got {name!r}")
        versions = self.store.model_versions(parsed.model)
        if not versions:
            raise RpcFailure(grpc.StatusCode.NOT_FOUND, f"Model {parsed.model} not found")
        return versions

    def _version(self, name: str) -> Model:
        """The version `name` names: `@N`, `@ALIAS`, or the default."""
        versions = self._versions(name)  # `name` parses, or INVALID_ARGUMENT
        wanted = parse_model_name(name).version or DEFAULT_ALIAS
        for version in versions:
            if version.version_id == wanted or wanted in version.version_aliases:
                return version
        raise RpcFailure(grpc.StatusCode.NOT_FOUND, f"Model {name} not found: no version or alias {wanted!r}")

    def get(self, request: GetModelRequest) -> Model:
        return self._version(request.name)

    def list_versions(self, request: ListModelVersionsRequest) -> ListModelVersionsResponse:
        if parse_model_name(request.name) is None or parse_model_name(request.name).version:
            raise invalid(f"name: expected projects/P/locations/L/models/ID, got {request.name!r}")
        if request.page_size < 0:
            raise invalid("page_size: must not be negative")
        if request.order_by:
            raise invalid("order_by: not emulated (versions come oldest first)")
        if _STATE_TERM.search(request.filter):
            raise invalid("filter: a model has no state; filter on labels or display_name")
        predicates = parse_filter(request.filter)
        matching = [
            version for version in self._versions(request.name) if all(p(version) for p in predicates)
        ]
        page, token = page_of(matching, request.page_size, request.page_token)
        return ListModelVersionsResponse(models=page, next_page_token=token)

    # -- MergeVersionAliases ------------------------------------------------------------------------

    def merge_aliases(self, request: MergeVersionAliasesRequest) -> Model:
        parsed = parse_model_name(request.name)
        if parsed is None or not parsed.version.isdigit():
            raise invalid(f"name: expected projects/P/locations/L/models/ID@VERSION_ID, got {request.name!r}")
        if not request.version_aliases:
            raise invalid("version_aliases: required")
        add: list[str] = []
        remove: list[str] = []
        for index, entry in enumerate(request.version_aliases):
            alias = entry.removeprefix("-")
            problem = alias_problem(alias)
            if problem:
                raise invalid(f"version_aliases[{index}]: {problem}")
            (remove if entry.startswith("-") else add).append(alias)
        both = set(add) & set(remove)  # the reference: adding and removing one alias cancel out
        add = [alias for alias in add if alias not in both]
        remove = [alias for alias in remove if alias not in both]
        if DEFAULT_ALIAS in remove:
            raise invalid(
                "version_aliases: the default alias cannot be removed, only moved to another version"
            )
        self._versions(request.name)  # NOT_FOUND for an unknown model
        merged = self.store.merge_version_aliases(parsed.model, int(parsed.version), add, remove)
        if merged is None:
            raise RpcFailure(grpc.StatusCode.NOT_FOUND, f"Model {request.name} not found")
        return merged


def handlers(service: ModelService) -> list[grpc.GenericRpcHandler]:
    methods = {
        "UploadModel": (service.upload, UploadModelRequest),
        "GetModel": (service.get, GetModelRequest),
        "ListModelVersions": (service.list_versions, ListModelVersionsRequest),
        "MergeVersionAliases": (service.merge_aliases, MergeVersionAliasesRequest),
    }
    return [service_handler(SERVICE, methods)]
