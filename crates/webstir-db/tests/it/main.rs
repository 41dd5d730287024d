//! Integration tests for webstir-db.
