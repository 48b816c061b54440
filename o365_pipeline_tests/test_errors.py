"""One error root: every exception the package defines is a `PipelineError` with a retriable
flag, so the CLI and the Dagster layer handle them one way."""

import importlib
import inspect
import pkgutil

import o365_pipeline
from o365_pipeline.api.errors import (
    AuthenticationError,
    PaginationLoopError,
    ThrottledError,
    UnreachableHostError,
)
from o365_pipeline.cli.failures import one_line_failure
from o365_pipeline.errors import PipelineError
from o365_pipeline.pipeline.audit_table import IncompleteWindowError


def _defined_exceptions():
    for module_info in pkgutil.walk_packages(o365_pipeline.__path__, "o365_pipeline."):
        if module_info.name.endswith(".__main__"):
            continue  # running it is its only effect
        module = importlib.import_module(module_info.name)
        for _, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, BaseException) and value.__module__ == module.__name__:
                yield value


def test_every_exception_of_the_package_has_the_one_root():
    found = list(_defined_exceptions())
    assert len(found) > 10
    assert [cls.__name__ for cls in found if not issubclass(cls, PipelineError)] == []


def test_retriable_says_whether_running_again_unchanged_can_succeed():
    assert ThrottledError.retriable and UnreachableHostError.retriable
    assert IncompleteWindowError.retriable and PaginationLoopError.retriable
    assert not AuthenticationError.retriable


def test_the_cli_prints_any_pipeline_error_as_one_line():
    error = UnreachableHostError.for_host(
        "https://login.example:443", setting="O365_LOGIN_BASE_URL", failure="ConnectionError"
    )
    line = one_line_failure(error)
    assert line is not None and "\n" not in line
    assert "login.example:443" in line and "O365_LOGIN_BASE_URL" in line
    assert one_line_failure(KeyError("a bug")) is None  # bugs keep their traceback
