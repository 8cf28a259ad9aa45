"""The job vocabulary every other package speaks: names, states, labels, trial outcomes.

It sits at the bottom of the package graph: it imports nothing of this project and no cloud
library, so `experiments`, `vertex`, `emulator`, `results` and `github` can all depend on it
without depending on each other.

- `names`: tuning-job and custom-job resource names, and the console pages that show them;
- `states`: which job states are final, reusable, and the exit status each end gives; how a trial
  ended (succeeded, failed, stopped...), decided where it ends;
- `labels`: the labels that identify a submitted job, the List filters that find it, and the
  output directory of a second job with the same identity;
- `trial_flags`: the flags a trial's parameters become on the trainer's command line;
- `fidelity`: the emulator's fidelity table: every field of the job's messages honoured, reported
  or refused by the local emulator (its log, the run's summary and the docs show it).
"""
