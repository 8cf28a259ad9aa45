"""The local backend: a Vertex AI JobService emulator that runs hyperparameter tuning trials here.

`embedded.running_emulator(state_dir)` serves it on loopback for one run; `python -m scripts
emulator` serves it standalone. The parts, one job each:

- `server`: the gRPC JobService (and the one Operations call it needs) over the real messages;
- `store`: jobs and trials in SQLite, so a killed run resumes;
- `scheduler`: one runner per job: asks for trials, launches them, watches them, ends the job;
- `optimizer`: Optuna suggestions for the study spec (every parameter type, scale, condition);
- `trials`: a trial's command line, environment, process and hypertune measurements;
- `early_stopping`: the median automated stopping rule.
"""
