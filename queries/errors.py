"""Typed domain errors. Each message is a sentence a person can act on."""

from __future__ import annotations


class DomainError(Exception):
    """Base class: the message is shown to the user as it is."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class NotFound(DomainError):
    pass


class InvalidInput(DomainError):
    pass


class InvalidQuantity(InvalidInput):
    pass


class InsufficientStock(DomainError):
    pass


class StaleVersion(DomainError):
    pass


class Forbidden(DomainError):
    pass


class InvalidTransition(DomainError):
    pass


class AlreadyDone(DomainError):
    """The thing was already done (a transfer received twice, an order already cancelled)."""


class InvalidCredentials(DomainError):
    pass


class DatabaseUnavailable(DomainError):
    """The database could not be reached for longer than the reconnect budget. Nothing was
    written: the transaction never reached its COMMIT."""


class OutcomeUnknown(DomainError):
    """The connection was lost while COMMIT was on its way (CockroachDB: SQLSTATE 40003), and the
    command carried no idempotency key that would make a retry safe."""
