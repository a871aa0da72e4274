//! Regulatory retrieval (see issue: corpus, chunking, embeddings, hybrid search).
