"""Settlement and finance: the models are dbt (transforms/models/core/settlement,
transforms/models/finance); here the monthly run's config preflight (`preflight.py`) and the
publish step that makes a month's finance tables visible together (`publish.py`)."""
