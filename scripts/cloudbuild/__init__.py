"""Building the trainer image with Cloud Build.

- `ignore`: `.gcloudignore` / `.dockerignore` rules, each with its own tool's semantics.
- `archive`: the reproducible source archive those rules select.
- `config`: cloudbuild.yaml as the `Build` message, with our source and substitutions.
- `registry`: whether an image tag already exists in Artifact Registry.
- `submit`: upload, create, follow, and the failure message.
- `settings`: where the image lives (project, region, repository, image, staging bucket).
"""
