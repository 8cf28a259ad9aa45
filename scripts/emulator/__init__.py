"""The local backend: a Vertex AI JobService emulator that runs hyperparameter tuning trials here.

`embedded.running_emulator(state_dir)` serves it on loopback for one run; `python -m scripts
emulator` serves it standalone. The parts, one job each:

- `server`: the gRPC JobService (and the one Operations call it needs) over the real messages;
- `store`: jobs and trials in SQLite, so a killed run resumes;
- `scheduler`: what one job may ask of this machine (its limits), the runners of all jobs
  (start, cancel, resume, shutdown) sharing the machine's slots, and one job's loop: asks for
  trials, starts them, takes their ends, ends the job (by the failed-trials rule, when trials fail);
- `trial_lifecycle`: one trial from launch to end (timeout, preemption, restarts, early stop by
  the median automated stopping rule);
- `optimizer`: Optuna suggestions for the study spec (every parameter type, scale, condition);
- `trials`: a trial's command line, environment, process and hypertune measurements, and the
  `Options` the emulator runs every job's trials with (state directory, parallelism, entrypoint, ...);
- `gp_sampler`: the default algorithm's Gaussian-process sampler; `model_service`: the Model
  Registry calls `promote` makes; `embedded`: the emulator for one `with` block; `contract`: what
  its clients may rely on.
"""
