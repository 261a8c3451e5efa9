"""Analysis of distance matrices: embeddings (UMAP, MDS), hierarchical clustering, confidence intervals."""
