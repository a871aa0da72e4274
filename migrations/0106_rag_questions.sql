-- The corpus editors' plain-language questions (front matter `questions:` of the corpus
-- files), embedded and filed under the chunks that answer them. Vector search scores a chunk
-- by its own text or by its closest question, and full-text search by its own words or by
-- its best-matching question's (crates/rag/src/questions.rs). A question that
-- several chunks answer (a paragraph split in pieces) has one row per chunk. Rows go with
-- their chunk: re-ingesting a section replaces both.

CREATE TABLE IF NOT EXISTS deriq.rag_questions (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    chunk_id   bigint NOT NULL REFERENCES deriq.rag_chunks (id) ON DELETE CASCADE,
    question   text   NOT NULL,
    embedding  vector(384) NOT NULL,
    tsv        tsvector GENERATED ALWAYS AS (to_tsvector('english'::regconfig, question)) STORED
);

CREATE INDEX IF NOT EXISTS rag_questions_chunk_idx ON deriq.rag_questions (chunk_id);
CREATE INDEX IF NOT EXISTS rag_questions_tsv_idx ON deriq.rag_questions USING gin (tsv);

-- Same owner and grants as the other corpus tables, where 0101 gave them to the project's
-- roles (the retrieval crate's own test databases apply only the corpus migrations, and
-- their tables stay with the user that made them).
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_tables WHERE schemaname = 'deriq' AND tablename = 'rag_chunks'
               AND tableowner = 'deriq_owner') THEN
        ALTER TABLE deriq.rag_questions OWNER TO deriq_owner;
        REVOKE ALL ON deriq.rag_questions FROM PUBLIC;
        GRANT SELECT, INSERT, UPDATE, DELETE ON deriq.rag_questions TO deriq_gateway;
    END IF;
END
$$;
