-- The reference CRM (docs/crm-model.md) in PostgreSQL: the tables that Debezium captures and
-- crm-masker's rules/ mask. Copy it for a trial; real deployments bring their own tables.
-- `crm-masker generate --postgres URL` writes its CRM activity into these tables.

CREATE TABLE users (
  id             bigint PRIMARY KEY,
  username       text NOT NULL,
  full_name      text,
  email          text,
  role           text,
  department     text,
  active         boolean NOT NULL DEFAULT true,
  deactivated_at timestamp
);

CREATE TABLE accounts (
  id             bigint PRIMARY KEY,
  name           text,
  vat_id         text,
  industry       text,
  employees      integer,
  annual_revenue numeric(14, 2),
  street         text,
  zip            text,
  city           text,
  country        text,
  owner_user_id  bigint,
  created_at     timestamp,
  updated_at     timestamp
);

CREATE TABLE contacts (
  id                 bigint PRIMARY KEY,
  salutation         text,
  first_name         text,
  last_name          text,
  email              text,
  phone              text,
  mobile             text,
  birth_date         date,
  street             text,
  house_number       text,
  zip                text,
  city               text,
  country            text,
  iban               text,
  tax_id             text,
  account_id         bigint,
  owner_user_id      bigint,
  segment            text,
  income_band        text,
  credit_score       integer,
  lifetime_value     numeric(12, 2),
  consent_marketing  boolean,
  consent_updated_at timestamp,
  health_notes       text,   -- Art. 9 special category
  notes              text,   -- free text
  created_at         timestamp,
  updated_at         timestamp
);

CREATE TABLE contracts (
  id              bigint PRIMARY KEY,
  contact_id      bigint,
  account_id      bigint,
  product         text,
  contract_number text,
  start_date      date,
  end_date        date,
  monthly_fee     numeric(10, 2),
  iban            text,
  status          text,
  signed_at       timestamp
);

CREATE TABLE activities (
  id          bigint PRIMARY KEY,
  contact_id  bigint,
  user_id     bigint,
  type        text,
  subject     text,
  body        text,
  occurred_at timestamp
);

CREATE TABLE audit_log (
  id             bigint PRIMARY KEY,
  user_id        bigint,
  action         text,
  object_type    text,
  record_count   integer,
  classification text,
  client_ip      text,
  user_agent     text,
  occurred_at    timestamp
);

-- Debezium (pgoutput) publishes the changes of these tables
CREATE PUBLICATION crm_masker FOR TABLE users, accounts, contacts, contracts, activities, audit_log;
