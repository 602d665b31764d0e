-- Faktura schema, version 11: each issued invoice's list entry, kept in its row.
--
-- A list page used to decode every row's `model` and `issued` documents into Python objects
-- and encode the response from them again: per row, far more work than the page's query.
-- `list_entry` is the JSON text `GET /v1/invoices` returns for the invoice (without
-- `expand`), byte for byte what `faktura.api.invoices.invoice_view` encodes, so a page is the
-- concatenation of its rows' entries. It is written by a trigger on every INSERT and UPDATE
-- of the row, whichever code path writes it, and backfilled below. The payments live in
-- their own table: the entry holds the control character U+0001 (which JSON text never
-- contains raw) where their ids go, and the list query puts them in.
--
-- A draft has no entry (NULL): its totals are computed from its lines by the application, so
-- it is listed through the full path; so is any row whose entry cannot be made (a member
-- `invoice_view` requires is missing: the full path is the judge).
ALTER TABLE invoices ADD COLUMN list_entry text;

-- jsonb as compact JSON text, in jsonb's key order (the order in which the application
-- decodes the document), i.e. the text msgspec encodes from it. `json_strip_nulls` writes
-- JSON compactly (in C); it would also drop members that are null, so a document with
-- "null" anywhere in its text takes jsonb's own text with the blank after each "," and ":"
-- between tokens taken out instead (strings are matched whole, so a ", " inside one stays).
CREATE FUNCTION faktura_json(v jsonb) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN jsonb_typeof(v) NOT IN ('object', 'array') THEN v::text
        WHEN strpos(v::text, 'null') = 0 THEN json_strip_nulls(v::json)::text
        ELSE regexp_replace(v::text, '("(?:[^"\\]|\\.)*")|(,) |(:) ', '\1\2\3', 'g')
    END
$$;

-- A moment as msgspec encodes a UTC datetime: RFC 3339, microseconds only when there are some.
CREATE FUNCTION faktura_json_time(t timestamptz) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN t IS NULL THEN 'null'
        ELSE '"' || to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
            || CASE WHEN extract(microseconds FROM t) % 1000000 = 0 THEN '' ELSE to_char(t AT TIME ZONE 'UTC', '.US') END || 'Z"'
    END
$$;

-- A supporting document as the list shows it: without its bytes, with their size.
CREATE FUNCTION faktura_json_attachment(doc jsonb) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN coalesce(doc ->> 'content', '') = '' THEN faktura_json(doc - 'content')
        ELSE left(faktura_json(doc - 'content'), -1)
            || CASE WHEN doc - 'content' = '{}' THEN '' ELSE ',' END
            || '"size":' || (length(doc ->> 'content') * 3 / 4
                             - (length(right(doc ->> 'content', 2)) - length(replace(right(doc ->> 'content', 2), '=', ''))))
            || '}'
    END
$$;

-- The list entry of an issued invoice (NULL for a draft). It mirrors `invoice_view(row,
-- lines=False)`, which builds a Python dict: members in the order they are first set, each
-- with the value set last (the request's `series`, `buyer`, `type_code`... sit where the
-- request's document puts them). `members` lists every assignment in order; the entry keeps,
-- per key, the first position and the last value.
CREATE FUNCTION faktura_invoice_list_entry(i invoices) RETURNS text
    LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
BEGIN
    -- PL/pgSQL keeps this statement's plan for the session; an SQL function would plan it
    -- again on every row a trigger passes it.
    RETURN (WITH totals AS (SELECT i.issued -> 'totals' AS t),
    members(n, key, value) AS (
        VALUES (1, 'id', to_json(i.id::text)::text),
               (2, 'type', '"ACCOUNTS_RECEIVABLE"'),
               (3, 'status', to_json(i.status)::text),
               (4, 'number', coalesce(to_json(i.number)::text, 'null')),
               (5, 'series', coalesce(to_json(i.series)::text, 'null')),
               (6, 'paid_on_date', coalesce('"' || to_char(i.paid_on_date, 'YYYY-MM-DD') || '"', 'null')),
               (7, 'payments', chr(1)),
               (8, 'credited_amount', '"' || i.credited::text || '"')
        UNION ALL
        SELECT 100 + m.n, m.key,
               CASE WHEN m.key = 'attachments' AND jsonb_typeof(m.value) = 'array'
                    THEN '[' || coalesce((SELECT string_agg(faktura_json_attachment(d.doc), ',' ORDER BY d.n)
                                          FROM jsonb_array_elements(m.value) WITH ORDINALITY AS d(doc, n)), '') || ']'
                    ELSE faktura_json(m.value) END
        FROM jsonb_each(i.model) WITH ORDINALITY AS m(key, value, n)
        WHERE m.key NOT IN ('sub_total', 'total_discount', 'total_tax_amount', 'total_amount', 'line_items')
        UNION ALL
        VALUES (100000, 'document_type', to_json(i.document_type)::text),
               (100001, 'type_code', to_json(coalesce(nullif(i.model ->> 'type_code', ''),
                                                       CASE WHEN i.document_type = 'CREDIT_NOTE' THEN '381' ELSE '380' END))::text),
               (100002, 'contact', coalesce(to_json(i.contact_id::text)::text, 'null')),
               (100003, 'created_at', faktura_json_time(i.created_at)),
               (100004, 'modified_at', faktura_json_time(i.modified_at)),
               (100005, 'issued_at', faktura_json_time(i.issued_at))
        UNION ALL
        SELECT 100010 + s.n, s.key, faktura_json(totals.t -> s.member)
        FROM totals, (VALUES (1, 'sub_total', 'line_extension_amount'),
                             (2, 'total_discount', 'allowance_total'),
                             (3, 'total_charges', 'charge_total'),
                             (4, 'tax_exclusive_amount', 'tax_exclusive_amount'),
                             (5, 'total_tax_amount', 'tax_amount'),
                             (6, 'total_amount', 'tax_inclusive_amount'),
                             (7, 'prepaid_amount', 'prepaid_amount'),
                             (8, 'rounding_amount', 'rounding_amount'),
                             (9, 'payable_amount', 'payable_amount'),
                             (10, 'tax_breakdown', 'breakdown'),
                             (11, 'tax_currency_total_tax_amount', 'tax_amount_in_tax_currency')) AS s(n, key, member)
        WHERE s.n < 11 OR coalesce(totals.t -> s.member, 'null') <> 'null'
        UNION ALL
        SELECT 100030, 'balance', coalesce('"' || i.balance::text || '"', faktura_json(totals.t -> 'payable_amount'))
        FROM totals
        UNION ALL
        VALUES (100040, 'profile', faktura_json(i.issued -> 'profile')),
               (100041, 'rule_versions', faktura_json(i.issued -> 'rule_versions')),
               (100042, 'rule_notes', faktura_json(coalesce(i.issued -> 'rule_notes', '[]'))),
               (100043, 'xml', left(faktura_json(i.issued -> 'xml'), -1)
                               || CASE WHEN i.issued -> 'xml' = '{}' THEN '' ELSE ',' END
                               || '"url":' || to_json('/v1/invoices/' || i.id || '/xml')::text || '}')
        UNION ALL
        SELECT 100044, 'buyer', faktura_json(i.issued -> 'buyer')
        WHERE coalesce(i.model -> 'buyer', 'null') IN ('null', '{}')
    ),
    entry(key, first, value) AS (
        SELECT key, min(n), (array_agg(value ORDER BY n DESC))[1] FROM members GROUP BY key
    )
    SELECT CASE WHEN i.issued IS NULL OR bool_or(value IS NULL) THEN NULL
        ELSE '{' || string_agg(to_json(key)::text || ':' || value, ',' ORDER BY first) || '}' END
    FROM entry);
END
$$;

UPDATE invoices SET list_entry = faktura_invoice_list_entry(invoices) WHERE issued IS NOT NULL;

CREATE FUNCTION faktura_invoice_list_entry_write() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    NEW.list_entry := CASE WHEN NEW.issued IS NOT NULL THEN faktura_invoice_list_entry(NEW) END;
    RETURN NEW;
END
$$;
CREATE TRIGGER invoices_list_entry BEFORE INSERT OR UPDATE ON invoices
    FOR EACH ROW EXECUTE FUNCTION faktura_invoice_list_entry_write();
