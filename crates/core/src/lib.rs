//! DER IQ domain model.
