"""The Vertex AI JobService path shared by both backends: client, submit once, follow, errors.

The same code talks to Vertex AI and to the local emulator; only the channel differs, and the
`Backend` value (`backend.py`) chooses it once per command. Modules import the cloud client
lazily, inside functions, so that the commands start fast.
"""
