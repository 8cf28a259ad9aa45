"""The command line of the project: experiments, backends, GitHub and Cloud Build glue."""
