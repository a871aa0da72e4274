-- Regulatory corpus for retrieval: sections, their chunks with embeddings and full-text
-- vectors, and the metadata of the embedding index. Public-law text only: no tenant data,
-- so these tables carry no row-level security and are not granted to the query role.

CREATE EXTENSION IF NOT EXISTS vector;
CREATE SCHEMA IF NOT EXISTS deriq;

-- One row: which model and dimension the stored vectors come from. Ingest compares it with
-- the embedder in use and re-embeds everything when they differ, so vectors never mix.
CREATE TABLE deriq.rag_index_meta (
    singleton        boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    model            text        NOT NULL,
    dimension        integer     NOT NULL CHECK (dimension > 0),
    chunker_version  text        NOT NULL,
    updated_at       timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE deriq.rag_sections (
    citation       text PRIMARY KEY,          -- canonical: '49 CFR 382.303', '15 U.S.C. 1681b'
    citation_key   text NOT NULL,             -- normalised: '382.303', '1681b'
    title_prefix   text NOT NULL,             -- '49 CFR', '15 U.S.C.'
    title          text NOT NULL,             -- 'Post-accident testing.'
    regulation     text NOT NULL,             -- '49 CFR Part 382'
    part           text NOT NULL,             -- '382'
    subpart        text,
    subpart_title  text,
    source         text NOT NULL,
    official_text  text,
    as_of          text,
    restatement    boolean NOT NULL DEFAULT false,
    note           text,
    source_file    text,
    content_hash   text NOT NULL,             -- sha256 of the section, chunker version and model
    chunk_count    integer NOT NULL DEFAULT 0,
    ingested_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE deriq.rag_chunks (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    section_citation  text    NOT NULL REFERENCES deriq.rag_sections (citation) ON DELETE CASCADE,
    ordinal           integer NOT NULL,
    citation          text    NOT NULL,       -- '49 CFR 382.303(b)(1)'
    citation_key      text    NOT NULL,       -- '382.303(b)(1)': exact and prefix lookups
    title_prefix      text    NOT NULL,
    part              text    NOT NULL,
    regulation        text    NOT NULL,
    heading_path      text[]  NOT NULL,
    prefix            text    NOT NULL,       -- '49 CFR Part 382 › Subpart C › § 382.303 … › (b)'
    context           text    NOT NULL DEFAULT '',
    body              text    NOT NULL,
    covers_subtree    boolean NOT NULL,
    content_hash      text    NOT NULL,       -- sha256 of the embedded text
    embedding         vector(384) NOT NULL,
    tsv               tsvector GENERATED ALWAYS AS (
                          setweight(to_tsvector('english'::regconfig, prefix), 'A')
                       || setweight(to_tsvector('english'::regconfig, context), 'C')
                       || setweight(to_tsvector('english'::regconfig, body), 'B')
                      ) STORED,
    UNIQUE (section_citation, ordinal)
);

-- Document frequency of every lexeme over all chunks, refreshed by each ingest that changes
-- anything: the IDF part of the BM25 ranking used for full-text search.
CREATE TABLE deriq.rag_lexemes (
    lexeme  text PRIMARY KEY,
    ndoc    integer NOT NULL
);

CREATE INDEX rag_chunks_tsv_idx ON deriq.rag_chunks USING gin (tsv);
CREATE INDEX rag_chunks_citation_key_idx ON deriq.rag_chunks (citation_key text_pattern_ops);
CREATE INDEX rag_chunks_part_idx ON deriq.rag_chunks (part);
CREATE INDEX rag_sections_citation_key_idx ON deriq.rag_sections (citation_key);
-- Vector search is an exact scan: at a few thousand chunks it is as fast as HNSW and never
-- loses rows under part filters (see crates/rag/README.md for the measurements).
