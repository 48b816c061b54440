"""`python -m o365_pipeline.cli`: the same as the `o365-pipeline` command."""

from o365_pipeline.cli.main import main

raise SystemExit(main())
