"""The offline demo: ``python -m dwh.demo`` (what ``make demo`` runs) and its sample-data generator."""
