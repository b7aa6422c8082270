"""Dataset ingestion: upload checks, profiling, seeded splits, materialised arrays, preprocessing.

This package's top level imports nothing, so that `preprocessing` can be used alone
(numpy + Pillow + stdlib) by the predict endpoint and the downloaded code bundle.
"""
