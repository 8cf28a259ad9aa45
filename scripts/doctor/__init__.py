"""`python -m scripts doctor`: check a Google Cloud project for what a run needs, before anything is spent.

    target = Target.build(env, compiled_experiments)                # settings + what the jobs need
    checks = run_checks(target, Endpoints.from_environment(env))    # one Check per line
    print(report.table(checks))

Modules: `report` (the Check line; the report as a table, Markdown or JSON), `needs` (APIs,
permissions and roles, quota metrics, the accelerator peak of an experiment), `target` (settings
and needs; the `Context` the checks share), `credentials` (ADC: whose), `clients` (the Google
clients, or loopback fakes for tests; an API error in one line), the checks by subject
(`project_checks`: project, APIs, permissions, the trial and build service accounts;
`binding_checks`: who may act as the deployer, what the provider admits, and the rules that judge
them; `bucket_checks`; `tensorboard_checks`: the instances experiments stream to;
`registry_checks`: repository, tags, image; `quota_checks`), `checks` (the runner: the checks in
order, and those made before calling Google: settings, experiments, credentials). No Google
library is imported until a check calls one, so `doctor --help` loads none.
"""
