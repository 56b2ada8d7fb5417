"""The error tree: every class drawn in the docstring, with its exit code and HTTP status."""

import inspect
import re

import pytest

from state import errors

CLASSES = [
    cls
    for _, cls in inspect.getmembers(errors, inspect.isclass)
    if issubclass(cls, errors.PhasegateError)
]


@pytest.mark.parametrize("cls", CLASSES, ids=lambda cls: cls.__name__)
def test_error_class_is_drawn_with_its_exit_code_and_status(cls: type) -> None:
    drawn = re.search(rf"(?:^|\s){cls.__name__}\s+(\d)\s+(\S+)", errors.__doc__, re.MULTILINE)
    assert drawn is not None, f"{cls.__name__} is not drawn in the tree"
    exit_code, status = drawn.groups()
    assert int(exit_code) == cls.exit_code
    assert status == str(cls.http_status) or (status == "4xx" and cls is errors.ApiError)


@pytest.mark.parametrize(
    "cls", [errors.ProviderError, errors.StoreUnavailable, errors.PrefectUnavailable]
)
def test_error_unavailable_dependencies_exit_3(cls: type) -> None:
    assert cls.exit_code == 3


def test_error_refused_request_keeps_its_own_status() -> None:
    assert errors.ApiError(413, "body_too_large", "body: too large").http_status == 413
    assert errors.SignatureError("secret_not_configured", "no secret", 503).status == 503
