"""`python -m scripts doctor`: check a Google Cloud project for what a run needs, before anything is spent.

    target = Target.build(os.environ, compiled_experiments)      # settings + what the jobs need
    checks = Doctor(target, Endpoints.from_environment()).run()  # one Check per line
    print(render.table(checks))

Modules: `result` (the Check line), `needs` (APIs, permissions and roles, quota metrics, the
accelerator peak of an experiment), `target` (settings and needs), `credentials` (ADC: whose),
`clients` (the Google clients, or loopback fakes for tests), `checks` (the checks in order),
`render` (table, Markdown, JSON). Nothing here is imported by `--help`.
"""
