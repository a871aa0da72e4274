-- pgvector's type and operators live in the public schema: the gateway's corpus queries need it.
ALTER ROLE deriq_gateway SET search_path = deriq, public;
