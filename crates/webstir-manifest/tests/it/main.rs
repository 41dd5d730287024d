//! Integration tests of `webstir-manifest`: one test binary, one module per area.

mod schedule;
