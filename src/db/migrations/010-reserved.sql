-- Placeholder so that 012 follows in sequence on the branch h-rest: numbers 010 and 011 belong to
-- other branches' migrations. Delete this file when merging a branch that brings its own 010.
SELECT 1;
