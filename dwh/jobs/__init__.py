"""Jobs: the `AbstractJob` template, its factory, and one package per job (``<name>/<name>_job_factory.py``)."""
