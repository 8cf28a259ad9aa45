"""GitHub glue: the REST client, sticky comments, event payloads and the runner's files.

Each module has one job; `flows` puts them together for the workflows' steps.
"""
