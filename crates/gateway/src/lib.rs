//! DER IQ gateway library.
