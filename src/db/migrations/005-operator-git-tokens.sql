-- Who may read private repositories with the operator's KODAH_GIT_TOKENS: only the accounts the
-- operator marks (`kodah accounts operator-tokens <account> on`). Every account starts unmarked,
-- existing ones too: before this, any account with a key could read whatever those tokens reach.
ALTER TABLE accounts ADD COLUMN IF NOT EXISTS uses_operator_tokens boolean NOT NULL DEFAULT false;
