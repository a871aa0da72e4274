-- DER IQ: verified_scope() as one SQL statement, without a PL/pgSQL exception block.
--
-- Every policy calls verified_scope() once per statement, through an InitPlan; the limited
-- logins call it three times (tenants, locations, employee). The PL/pgSQL version of 0001
-- caught every error with an EXCEPTION block, which opens a subtransaction on each call.
--
-- The only steps that can fail on untrusted input are the ones after the signature check
-- (hex decoding, UTF-8, JSON, the expiry as a number), and a payload whose HMAC verifies was
-- written by the gateway, which signs only well-formed claims. So the signature is checked
-- first, on text operations that cannot fail, and the payload is decoded only when it matches
-- (inside the CASE branch, which PostgreSQL evaluates only when its condition holds). The
-- result is the same as before: the claims, or NULL when the setting is missing, malformed,
-- badly signed, expired or issued for another login role.

SET LOCAL ROLE deriq_owner;

CREATE OR REPLACE FUNCTION deriq_sec.verified_scope() RETURNS jsonb
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT claims
    FROM (
        SELECT CASE
                   WHEN encode(sha256(k.k_opad || sha256(k.k_ipad || convert_to(v.payload, 'UTF8'))), 'hex')
                        = lower(v.sig)
                   THEN convert_from(decode(v.payload, 'hex'), 'UTF8')::jsonb
               END AS claims
        FROM (SELECT split_part(raw, '.', 1) AS payload, split_part(raw, '.', 2) AS sig
              FROM (SELECT current_setting('deriq.scope', true) AS raw) AS setting
              WHERE raw IS NOT NULL AND raw <> '' AND position('.' IN raw) > 0) AS v
        CROSS JOIN deriq_sec.scope_key AS k
        WHERE k.id = 1
        OFFSET 0  -- computed once, not substituted into each condition below
    ) AS verified
    WHERE claims IS NOT NULL
      AND jsonb_typeof(claims -> 'x') = 'number'
      AND (claims ->> 'x')::numeric >= extract(epoch FROM clock_timestamp())
      AND claims ->> 'r' = session_user::text
$$;

RESET ROLE;
