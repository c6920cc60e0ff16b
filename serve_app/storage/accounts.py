"""Accounts (logins with password hashes) and their bearer tokens (kept as hashes).

Unlike the object stores, this one is not scoped to a requesting account: authentication
looks accounts up by login and tokens by hash before any account is known. Token listing and
removal take the owning account, so one account never sees another's tokens.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from serve_app.storage.tables import Account, AccountToken, utcnow


class LoginTaken(Exception):
    """An account with this login (or this account id) exists already."""

    def __init__(self, field: str, value: str) -> None:
        super().__init__(f"{field} {value!r} is taken")
        self.field = field
        self.value = value


class Accounts:
    """Accounts and tokens, in one session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def create(
        self,
        login: str,
        password_hash: str,
        account_type: str,
        description: str = "",
        account_id: str | None = None,
    ) -> Account:
        """A new account; :class:`LoginTaken` when the login or the given id is in use.

        The unique login decides a race with another replica creating the same login; the
        session's transaction is then unusable, so callers let the error end it.
        """
        account_id = account_id or str(uuid.uuid4())
        if await self.session.get(Account, account_id) is not None:
            raise LoginTaken("account_id", account_id)
        if await self.by_login(login) is not None:
            raise LoginTaken("login", login)
        now = utcnow()
        row = Account(
            account_id=account_id,
            login=login,
            password_hash=password_hash,
            account_type=account_type,
            description=description,
            create_time=now,
            last_update_time=now,
        )
        self.session.add(row)
        try:
            await self.session.flush()
        except IntegrityError as exc:
            raise LoginTaken("login", login) from exc
        return row

    async def by_login(self, login: str) -> Account | None:
        """The account of ``login``, if any."""
        query = select(Account).where(Account.login == login)
        return (await self.session.execute(query)).scalar_one_or_none()

    async def get(self, account_id: str) -> Account | None:
        """The account, if it exists."""
        return await self.session.get(Account, account_id)

    async def set_password(self, account_id: str, password_hash: str) -> None:
        """Replace the account's password hash."""
        row = await self.session.get(Account, account_id)
        if row is not None:
            row.password_hash = password_hash
            row.last_update_time = utcnow()
            await self.session.flush()

    async def add_token(
        self, account_id: str, token_hash: str, description: str, expiration: datetime | None
    ) -> AccountToken:
        """Keep a new token of the account (by its hash)."""
        row = AccountToken(
            token_id=str(uuid.uuid4()),
            account_id=account_id,
            token_hash=token_hash,
            description=description,
            create_time=utcnow(),
            expiration_time=expiration,
        )
        self.session.add(row)
        await self.session.flush()
        return row

    async def by_token_hash(self, token_hash: str) -> tuple[AccountToken, Account] | None:
        """The token with this hash and its account, if both exist (expired or not)."""
        query = (
            select(AccountToken, Account)
            .join(Account, Account.account_id == AccountToken.account_id)
            .where(AccountToken.token_hash == token_hash)
        )
        found = (await self.session.execute(query)).one_or_none()
        return (found[0], found[1]) if found is not None else None

    async def tokens(self, account_id: str, offset: int, limit: int) -> list[AccountToken]:
        """One page of the account's tokens, newest first."""
        query = (
            select(AccountToken)
            .where(AccountToken.account_id == account_id)
            .order_by(AccountToken.create_time.desc(), AccountToken.token_id)
            .offset(offset)
            .limit(limit)
        )
        return list((await self.session.execute(query)).scalars())

    async def count_tokens(self, account_id: str) -> int:
        """How many tokens the account has."""
        query = select(func.count()).where(AccountToken.account_id == account_id)
        return int((await self.session.execute(query)).scalar_one())

    async def token(self, account_id: str, token_id: str) -> AccountToken | None:
        """The account's token ``token_id``, if it has one."""
        query = select(AccountToken).where(
            AccountToken.token_id == token_id, AccountToken.account_id == account_id
        )
        return (await self.session.execute(query)).scalar_one_or_none()

    async def remove_token(self, account_id: str, token_id: str) -> str | None:
        """Delete the account's token; its hash (to forget cached lookups), or None when the
        account has no such token."""
        row = await self.token(account_id, token_id)
        if row is None:
            return None
        await self.session.execute(delete(AccountToken).where(AccountToken.token_id == token_id))
        return row.token_hash
