"""GitHub glue: the REST client, sticky comments, event payloads, the runner's files, and the flows.

Each workflow step is one flow (`plan_flow`, `submit_flow`, `dispatch_flow`, `report_flow`,
`comment_commands`), calling the library in this process: `planning` and `compiling` for the
experiments file, `scripts.vertex` to submit, `tuning_jobs` to list and render ended jobs. The one
child process is `sandbox`, which plans a pull request's file without credentials.
"""
