from o365_pipeline_tests.landed import landed_dataset, landed_original  # noqa: F401
