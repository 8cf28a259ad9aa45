"""The trainer that runs inside every trial: `python -m trainer.task --learning_rate=... ...`.

Modules, in the order `task.py` uses them: `flags` (command line, no TensorFlow), `environment`
(Vertex AI's variables and cluster), `precision`, `distribution`, `data`, `model`, `reporting`;
`errors` holds the two ways a trial ends early (a user's mistake, a diverged loss).
"""
