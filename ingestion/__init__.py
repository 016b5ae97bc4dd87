"""Knowledge-base ingestion: loaders, chunking, embeddings and indexing."""
