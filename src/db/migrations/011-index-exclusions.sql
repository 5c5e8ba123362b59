-- Files that the commit's .gitignore files or a .noindex file exclude: listed, never cut or searched.
ALTER TABLE code_files ADD COLUMN IF NOT EXISTS indexed boolean NOT NULL DEFAULT true;
