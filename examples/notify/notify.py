"""A small notification client for two email APIs: MaxCare (patients and users of a clinic) and MailDiver
(any address). It is the code under test in this example; test_notify.py tests it against mocksrv."""

from __future__ import annotations

import typing as t

import requests


class NotifyError(Exception):
    """An email API refused or failed a call."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class AuthError(NotifyError):
    """The API key is missing, unknown, revoked or lacks a scope (401/403)."""


class RateLimited(NotifyError):
    """Too many calls (429); ``retry_after`` is in seconds when the API says."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message, 429)
        self.retry_after = retry_after


class NotFound(NotifyError):
    """The email (or the route) does not exist (404)."""


class Rejected(NotifyError):
    """The API refused the message itself (400/422): bad field, suppressed recipient, ..."""


class NotifyTimeout(NotifyError):
    """The API did not answer within the client's timeout."""


class Notifier:
    """Sends through MaxCare (``POST /emails/send``, ``GET /emails/{id}``) and MailDiver (``POST /emails``)."""

    def __init__(self, maxcare_url: str, maildiver_url: str, *, maxcare_key: str, organization_id: str,
                 maildiver_key: str, timeout: float = 10.0, session: requests.Session | None = None) -> None:
        self.maxcare_url = maxcare_url.rstrip("/")
        self.maildiver_url = maildiver_url.rstrip("/")
        self.timeout = timeout
        self.session = session or requests.Session()
        self._maxcare_headers = {"Authorization": f"Bearer {maxcare_key}", "X-Organization-Id": organization_id}
        self._maildiver_headers = {"Authorization": f"Bearer {maildiver_key}"}

    def remind_patients(self, patient_ids: list[str], subject: str, html: str, *,
                        email_type: str = "appointment_reminder", sender: str = "notifications") -> list[str]:
        """MaxCare: one email per patient; the ids of the emails sent (patients without an address are skipped)."""
        body = {"from": sender, "subject": subject, "html": html, "emailType": email_type, "patientIds": patient_ids}
        answer = self._call("POST", f"{self.maxcare_url}/emails/send", self._maxcare_headers, body)
        return [str(sent["id"]) for sent in answer["data"]["sent"]]

    def email(self, email_id: str) -> dict[str, t.Any]:
        """MaxCare: one email: ``status``, ``sentAt``, ``deliveredAt``, ``bouncedAt``, ``openedAt``, ..."""
        answer = self._call("GET", f"{self.maxcare_url}/emails/{email_id}", self._maxcare_headers)
        return dict(answer["data"])

    def send(self, sender: str, to: list[str], subject: str, html: str) -> str:
        """MailDiver: queue one email; its id."""
        body = {"from": sender, "to": to, "subject": subject, "html": html}
        return str(self._call("POST", f"{self.maildiver_url}/emails", self._maildiver_headers, body)["id"])

    def _call(self, method: str, url: str, headers: dict[str, str], body: t.Any = None) -> t.Any:
        try:
            response = self.session.request(method, url, headers=headers, json=body, timeout=self.timeout)
        except requests.Timeout as error:
            raise NotifyTimeout(f"{method} {url}: no answer within {self.timeout} s") from error
        if response.ok:
            return response.json()
        message = _message(response)
        if response.status_code in (401, 403):
            raise AuthError(message, response.status_code)
        if response.status_code == 429:
            retry = response.headers.get("Retry-After")
            raise RateLimited(message, float(retry) if retry and retry.isdigit() else None)
        if response.status_code == 404:
            raise NotFound(message, 404)
        if response.status_code in (400, 422):
            raise Rejected(message, response.status_code)
        raise NotifyError(message, response.status_code)


def _message(response: requests.Response) -> str:
    """Both APIs put a readable ``message`` in their error bodies."""
    try:
        body = response.json()
    except ValueError:
        return f"{response.status_code} {response.text[:200]}"
    if isinstance(body, dict):
        return f"{response.status_code} {body.get('message') or body.get('detail') or body}"
    return f"{response.status_code} {body}"
