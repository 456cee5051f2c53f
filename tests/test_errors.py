from __future__ import annotations

import pytest

from leadsync import errors


def test_one_root() -> None:
    leaves = [
        errors.ConfigError,
        errors.MigrationError,
        errors.PersonNotFound,
        errors.ValidationError,
        errors.RetriableError,
        errors.ReauthRequired,
        errors.AuthenticationError,
        errors.RecordError,
        errors.FatalSalesforceError,
        errors.BudgetExhausted,
    ]
    assert all(issubclass(leaf, errors.LeadsyncError) for leaf in leaves)
    assert issubclass(errors.MigrationError, errors.DatabaseError)
    assert issubclass(errors.RecordError, errors.SalesforceError)


def test_record_errors_carry_salesforce_context() -> None:
    error = errors.RecordError(
        "FIELD_CUSTOM_VALIDATION_EXCEPTION",
        "Phone must have 10 digits",
        fields=["Phone"],
        object="Lead",
        record_id="00Q000000000001AAA",
    )
    assert (error.code, error.fields, error.object, error.record_id) == (
        "FIELD_CUSTOM_VALIDATION_EXCEPTION",
        ("Phone",),
        "Lead",
        "00Q000000000001AAA",
    )
    assert str(error) == (
        "FIELD_CUSTOM_VALIDATION_EXCEPTION: Phone must have 10 digits "
        "[Lead 00Q000000000001AAA] (fields: Phone)"
    )
    assert error.message == "Phone must have 10 digits"


def test_validation_error_names_record_and_field() -> None:
    with pytest.raises(errors.LeadsyncError, match=r"person 7: field 'email'"):
        raise errors.ValidationError("email", "not an email address", record_id=7)
    assert errors.BudgetExhausted("spent").code == "REQUEST_LIMIT_EXCEEDED"
    assert errors.AuthenticationError("refused", status=400).status == 400
