-- The full-text index is written by the store once per write transaction, no longer by a
-- trigger per row. FTS5 writes its pending terms to disk at the start of every statement that
-- needs a statement journal once it holds any, and every multi-row write here needs one: with
-- a trigger, each chunk of a transaction left a small index segment for FTS5 to merge again.
-- The store deletes an article's old terms before it replaces the article, and indexes every
-- article it wrote (new or replaced) at the end of the transaction. Deleting an article still
-- removes its terms through the delete trigger, which stays.
DROP TRIGGER articles_fts_insert;
DROP TRIGGER articles_fts_update;
