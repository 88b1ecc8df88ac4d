"""Script shim for AWS Glue's script_location and spark-submit on Amazon EMR: runs dwh.generic_entry."""
from dwh.generic_entry import main

raise SystemExit(main())
