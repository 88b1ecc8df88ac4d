"""Local stand-ins of the services our code talks to (SMTP, Slack, SQS, the Databricks Jobs API, Freeport)."""
