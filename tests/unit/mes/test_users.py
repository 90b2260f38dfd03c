"""Users: salted scrypt passwords, login sessions, roles and password changes (both backends)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from mes.domain.errors import InvalidInput, PermissionDenied
from mes.services import users
from mes.store.tables import Audit, LoginSession, User, utcnow


@pytest.fixture
def people(engine: Engine) -> Engine:
    users.bootstrap(engine, "admin", password="admin-pass-1")
    users.add(engine, "admin", "op1", "operator", "same-pass-123")
    users.add(engine, "admin", "op2", "operator", "same-pass-123")
    return engine


def actions(engine: Engine, action: str) -> list[Audit]:
    with Session(engine) as s:
        return list(s.exec(select(Audit).where(Audit.action == action)))


class TestPasswords:
    def test_stored_as_salted_scrypt(self, people: Engine) -> None:
        """The same password gives two different hashes; neither contains the password."""
        with Session(people) as s:
            h1 = s.get(User, "op1").password_hash  # type: ignore[union-attr]
            h2 = s.get(User, "op2").password_hash  # type: ignore[union-attr]
        assert h1 and h2 and h1 != h2
        assert h1.startswith("scrypt$") and "same-pass" not in h1

    def test_policy_names_the_limit(self, people: Engine) -> None:
        with pytest.raises(InvalidInput, match="at least 8 characters"):
            users.add(people, "admin", "op3", "operator", "short")
        assert not users.exists(people, "op3")


class TestLogin:
    def test_login_opens_a_session_for_the_user(self, people: Engine) -> None:
        result = users.login(people, "op1", "same-pass-123")
        assert users.session_user(people, result.token) == "op1"
        with Session(people) as s:
            stored = list(s.exec(select(LoginSession)))
        assert [r.user for r in stored] == ["op1"]
        assert stored[0].token_hash != result.token  # only the digest is kept

    @pytest.mark.parametrize(("name", "password"), [("op1", "wrong-pass-1"), ("nobody", "x" * 9)])
    def test_bad_credentials_refused_and_audited(
        self, people: Engine, name: str, password: str
    ) -> None:
        """A wrong password and an unknown user get the same message; both are audited."""
        with pytest.raises(PermissionDenied, match="unknown user or wrong password"):
            users.login(people, name, password)
        assert [a.entity_id for a in actions(people, "user.login_failed")] == [name]

    def test_expired_and_ended_sessions_refused(self, people: Engine) -> None:
        token = users.login(people, "op1", "same-pass-123").token
        with Session(people) as s:
            s.execute(update(LoginSession).values(expires_at=utcnow() - timedelta(seconds=1)))
            s.commit()
        with pytest.raises(PermissionDenied, match="session expired"):
            users.session_user(people, token)
        other = users.login(people, "op1", "same-pass-123").token
        assert users.logout(people, other) == "op1"
        with pytest.raises(PermissionDenied, match="not logged in"):
            users.session_user(people, other)


class TestChanges:
    def test_own_password_needs_the_current_one_and_ends_sessions(self, people: Engine) -> None:
        token = users.login(people, "op1", "same-pass-123").token
        with pytest.raises(PermissionDenied, match="current password is wrong"):
            users.set_password(people, "op1", "op1", "new-pass-456", current="guess-123")
        assert [a.actor for a in actions(people, "user.passwd_denied")] == ["op1"]
        users.set_password(people, "op1", "op1", "new-pass-456", current="same-pass-123")
        with pytest.raises(PermissionDenied):
            users.session_user(people, token)
        with pytest.raises(PermissionDenied):
            users.login(people, "op1", "same-pass-123")
        assert users.login(people, "op1", "new-pass-456").user == "op1"

    def test_operator_cannot_set_anothers_password_or_roles(self, people: Engine) -> None:
        """Each refusal is audited as denied user.manage."""
        with pytest.raises(PermissionDenied, match=r"may not user\.manage"):
            users.set_password(people, "op1", "op2", "taken-over-1")
        with pytest.raises(PermissionDenied, match=r"may not user\.manage"):
            users.set_roles(people, "op1", "op1", "admin")
        denied = actions(people, "denied")
        assert [(a.actor, a.entity_id) for a in denied] == [("op1", "user.manage")] * 2
        assert users.login(people, "op2", "same-pass-123").roles == "operator"

    def test_admin_sets_roles_audited_with_before_and_after(self, people: Engine) -> None:
        users.set_roles(people, "admin", "op1", "operator,engineer")
        row = actions(people, "user.roles")[0]
        assert row.before_json == '{"roles":"operator"}'
        assert row.after_json == '{"roles":"engineer,operator"}'
        with pytest.raises(InvalidInput, match="own admin role"):
            users.set_roles(people, "admin", "admin", "engineer")
        with Session(people) as s:
            admins = s.exec(select(User).where(col(User.roles).contains("admin"))).all()
        assert [u.name for u in admins] == ["admin"]

    def test_two_admins_demoting_each_other_leave_one_admin(self, people: Engine) -> None:
        """At the same moment: one demotion wins, the other finds the line's last admin."""
        from tests.unit.mes.test_concurrency import race

        users.add(people, "admin", "boss", "admin", "boss-pass-123")
        for _ in range(3):
            results = race(
                lambda: users.set_roles(people, "admin", "boss", "engineer"),
                lambda: users.set_roles(people, "boss", "admin", "engineer"),
            )
            errors = [r for r in results if isinstance(r, Exception)]
            assert len(errors) == 1, results
            assert "last admin" in str(errors[0]) or "may not user.manage" in str(errors[0])
            with Session(people) as s:
                admins = [u.name for u in s.exec(select(User)) if "admin" in u.roles]
            assert len(admins) == 1
            users.set_roles(people, admins[0], "boss" if admins[0] == "admin" else "admin", "admin")
