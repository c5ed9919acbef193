# ruff: noqa: E501 -- the long lines are JavaScript snippets under test
"""The vendor SDKs Segment's runtime exposes, under Segment's names, each run by a
function written the way Segment's (or the SDK's) documentation shows it, against a
loopback server standing in for the vendor's API: the SDK's host option points
there, and the pool allow-lists 127.0.0.1. Each test asserts the request that
arrived (method, path, auth, body), the value the function returned, and the trace
(secrets masked)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import jwt as pyjwt
import pytest
import pytest_asyncio
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from runtime.pool import WorkerPool
from runtime.services import InvocationResult
from tests.runtime.conftest import make_pool, run
from tests.runtime.vendor import Arrived, Vendor, vendor_server

pytestmark = pytest.mark.asyncio(loop_scope="module")

MASK = "••••••"


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def pool() -> AsyncIterator[WorkerPool]:
    p = make_pool(workers=1, allow=["127.0.0.1"])
    yield p
    await p.shutdown()


def endpoint(vendor: Vendor) -> dict[str, Any]:
    """The vendor's port, as a setting. Its host is written in the code: every string
    setting of 6 characters or more counts as a secret, masked in traces."""
    return {"port": urlsplit(vendor.url).port}


def sent_header(trace: dict[str, Any], name: str) -> str:
    """A header of a trace, whatever case the SDK wrote its name in."""
    (value,) = [v for k, v in trace["request_headers"].items() if k.lower() == name.lower()]
    return value


def assert_traced_and_masked(
    r: InvocationResult, secret: str, count: int = 1
) -> list[dict[str, Any]]:
    assert len(r.requests) == count, r.requests
    assert secret not in json.dumps(r.to_dict())
    return r.requests


# ---------------------------------------------------------------- stripe

STRIPE_KEY = "sk_test_51Hfake0123456789abcdef"


async def test_stripe_creates_a_customer(pool, vendor):
    vendor.reply(
        "POST", "/v1/customers", {"id": "cus_123", "object": "customer", "email": "ada@example.com"}
    )
    code = """async function onIdentify(event, settings) {
      const client = stripe(settings.apiKey, {host: '127.0.0.1', port: settings.port, protocol: 'http'});
      const customer = await client.customers.create({
        email: event.traits.email,
        name: event.traits.name,
        metadata: {userId: event.userId},
      });
      return [customer.id, customer.email, customer.object];
    }"""
    event = {
        "type": "identify",
        "userId": "u-1",
        "traits": {"email": "ada@example.com", "name": "Ada L"},
    }
    r = await run(pool, code, event, {"apiKey": STRIPE_KEY, **endpoint(vendor)})
    assert r.outcome == "success", r.error
    assert r.result == ["cus_123", "ada@example.com", "customer"]
    got = vendor.only()
    assert (got.method, got.path) == ("POST", "/v1/customers")
    assert got.headers["authorization"] == f"Bearer {STRIPE_KEY}"
    assert got.headers["content-type"] == "application/x-www-form-urlencoded"
    assert dict(parse_qsl(got.body.decode())) == {
        "email": "ada@example.com", "name": "Ada L", "metadata[userId]": "u-1",
    }  # fmt: skip
    (trace,) = assert_traced_and_masked(r, STRIPE_KEY)
    assert trace["url"] == f"{vendor.url}/v1/customers" and trace["status"] == 200
    assert sent_header(trace, "Authorization") == f"Bearer {MASK}"


async def test_stripe_api_errors_are_stripes_error_classes(pool, vendor):
    vendor.reply(
        "GET", "/v1/customers/cus_missing",
        {"error": {"type": "invalid_request_error", "message": "No such customer: 'cus_missing'", "code": "resource_missing"}},
        status=404,
    )  # fmt: skip
    code = """async function onTrack(event, settings) {
      const client = stripe(settings.apiKey, {host: '127.0.0.1', port: settings.port, protocol: 'http', maxNetworkRetries: 0});
      try { await client.customers.retrieve('cus_missing') } catch (e) {
        return [e.type, e.statusCode, e.code, e.message, e instanceof Error, e instanceof stripe.errors.StripeError];
      }
    }"""
    r = await run(pool, code, settings={"apiKey": STRIPE_KEY, **endpoint(vendor)})
    assert r.outcome == "success", r.error
    assert r.result == [
        "StripeInvalidRequestError",
        404,
        "resource_missing",
        "No such customer: 'cus_missing'",
        True,
        True,
    ]
    assert vendor.only().headers["authorization"] == f"Bearer {STRIPE_KEY}"


async def test_an_sdk_error_left_uncaught_is_reported_under_its_own_class_name(pool, vendor):
    vendor.reply(
        "POST",
        "/v1/customers",
        {"error": {"type": "card_error", "message": "Your card was declined."}},
        status=402,
    )
    code = """async function onTrack(event, settings) {
      await stripe(settings.apiKey, {host: '127.0.0.1', port: settings.port, protocol: 'http'}).customers.create({email: 'a@b.c'});
    }"""
    r = await run(pool, code, settings={"apiKey": STRIPE_KEY, **endpoint(vendor)})
    assert (r.outcome, r.error.type, r.error.message) == (
        "bad_request",
        "StripeCardError",
        "Your card was declined.",
    )


# ---------------------------------------------------------------- sendgrid

SENDGRID_KEY = "SG.fake-key.0123456789abcdefghij"


async def test_sendgrid_mail_sends_a_mail(pool, vendor):
    vendor.reply("POST", "/v3/mail/send", b"", status=202, headers={"X-Message-Id": "msg-77"})
    code = """async function onTrack(event, settings) {
      sendgrid.mail.setApiKey(settings.apiKey);
      // setApiKey sets the region's base URL: point the mail's own client at the stand-in afterwards.
      sendgrid.mail.client.setDefaultRequest('baseUrl', 'http://127.0.0.1:' + settings.port + '/');
      const [response] = await sendgrid.mail.send({
        to: event.properties.email,
        from: 'shop@example.com',
        subject: 'Thanks for your order',
        text: 'Order ' + event.properties.orderId + ' is on its way.',
        html: '<strong>Order ' + event.properties.orderId + '</strong>',
      });
      return [response.statusCode, response.headers['x-message-id']];
    }"""
    event = {
        "type": "track",
        "event": "Order Completed",
        "properties": {"email": "ada@example.com", "orderId": "o-9"},
    }
    r = await run(pool, code, event, {"apiKey": SENDGRID_KEY, **endpoint(vendor)})
    assert r.outcome == "success", r.error
    assert r.result == [202, "msg-77"]
    got = vendor.only()
    assert (got.method, got.path) == ("POST", "/v3/mail/send")
    assert got.headers["authorization"] == f"Bearer {SENDGRID_KEY}"
    assert got.headers["content-type"] == "application/json"
    assert got.json() == {
        "from": {"email": "shop@example.com"},
        "subject": "Thanks for your order",
        "personalizations": [{"to": [{"email": "ada@example.com"}]}],
        "content": [{"type": "text/plain", "value": "Order o-9 is on its way."},
                    {"type": "text/html", "value": "<strong>Order o-9</strong>"}],
    }  # fmt: skip
    (trace,) = assert_traced_and_masked(r, SENDGRID_KEY)
    assert sent_header(trace, "Authorization") == f"Bearer {MASK}" and trace["status"] == 202


async def test_sendgrid_client_requests_and_errors(pool, vendor):
    vendor.reply("PUT", "/v3/marketing/contacts", {"job_id": "job-1"}, status=202)
    vendor.reply(
        "GET", "/v3/marketing/lists", {"errors": [{"message": "access forbidden"}]}, status=403
    )
    code = """async function onIdentify(event, settings) {
      const client = sendgrid.client;
      client.setApiKey(settings.apiKey);
      client.setDefaultRequest('baseUrl', 'http://127.0.0.1:' + settings.port + '/');
      const [response, body] = await client.request({
        method: 'PUT', url: '/v3/marketing/contacts',
        body: {contacts: [{email: event.traits.email, first_name: event.traits.firstName}]},
      });
      let failure;
      try { await client.request({method: 'GET', url: '/v3/marketing/lists'}) } catch (e) {
        failure = [e.code, e.message, e.response.body.errors[0].message, e instanceof Error];
      }
      return [response.statusCode, body, failure];
    }"""
    event = {
        "type": "identify",
        "userId": "u1",
        "traits": {"email": "ada@example.com", "firstName": "Ada"},
    }
    r = await run(pool, code, event, {"apiKey": SENDGRID_KEY, **endpoint(vendor)})
    assert r.outcome == "success", r.error
    assert r.result == [202, {"job_id": "job-1"}, [403, "Forbidden", "access forbidden", True]]
    put, get = vendor.arrived
    assert (put.method, put.path, get.method, get.path) == (
        "PUT",
        "/v3/marketing/contacts",
        "GET",
        "/v3/marketing/lists",
    )
    assert put.json() == {"contacts": [{"email": "ada@example.com", "first_name": "Ada"}]}
    assert put.headers["authorization"] == get.headers["authorization"] == f"Bearer {SENDGRID_KEY}"
    assert_traced_and_masked(r, SENDGRID_KEY, count=2)


# ---------------------------------------------------------------- twilio

TWILIO_SID = "AC0123456789abcdef0123456789abcdef"
TWILIO_TOKEN = "twilio-auth-token-0123456789"


async def test_twilio_sends_an_sms(pool, vendor):
    path = f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json"
    vendor.reply(
        "POST",
        path,
        {"sid": "SM123", "status": "queued", "to": "+15558675310", "body": "Hi Ada"},
        status=201,
    )
    code = """async function onTrack(event, settings) {
      const client = twilio(settings.accountSid, settings.authToken);
      client.api.baseUrl = 'http://127.0.0.1:' + settings.port;  // the stand-in for api.twilio.com
      const message = await client.messages.create({
        body: 'Hi ' + event.properties.name,
        from: '+15017122661',
        to: event.properties.phone,
      });
      return [message.sid, message.status, message.to];
    }"""
    event = {
        "type": "track",
        "event": "Signed Up",
        "properties": {"name": "Ada", "phone": "+15558675310"},
    }
    r = await run(
        pool, code, event, {"accountSid": TWILIO_SID, "authToken": TWILIO_TOKEN, **endpoint(vendor)}
    )
    assert r.outcome == "success", r.error
    assert r.result == ["SM123", "queued", "+15558675310"]
    got = vendor.only()
    assert (got.method, got.path) == ("POST", path)
    assert got.headers["authorization"] == basic(TWILIO_SID, TWILIO_TOKEN)
    assert got.headers["content-type"] == "application/x-www-form-urlencoded"
    assert dict(parse_qsl(got.body.decode())) == {
        "Body": "Hi Ada",
        "From": "+15017122661",
        "To": "+15558675310",
    }
    (trace,) = assert_traced_and_masked(r, TWILIO_TOKEN)
    assert sent_header(trace, "Authorization") == f"Basic {MASK}" and trace["status"] == 201


async def test_twilio_api_errors_are_rest_exceptions(pool, vendor):
    path = f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json"
    vendor.reply(
        "POST",
        path,
        {"code": 21211, "message": "Invalid 'To' Phone Number", "status": 400},
        status=400,
    )
    code = """async function onTrack(event, settings) {
      const client = twilio(settings.accountSid, settings.authToken);
      client.api.baseUrl = 'http://127.0.0.1:' + settings.port;
      try { await client.messages.create({body: 'x', from: '+15017122661', to: 'nope'}) } catch (e) {
        return [e.constructor.name, e.status, e.code, e.message, e instanceof Error];
      }
    }"""
    r = await run(
        pool,
        code,
        settings={"accountSid": TWILIO_SID, "authToken": TWILIO_TOKEN, **endpoint(vendor)},
    )
    assert r.outcome == "success", r.error
    assert r.result == ["RestException", 400, 21211, "Invalid 'To' Phone Number", True]


# ---------------------------------------------------------------- mailjet

MAILJET_KEY = "mj-public-key-0123456789"
MAILJET_SECRET = "mj-private-secret-0123456789"


async def test_mailjet_sends_a_mail(pool, vendor):
    vendor.reply(
        "POST",
        "/v3.1/send",
        {
            "Messages": [
                {"Status": "success", "To": [{"Email": "ada@example.com", "MessageID": 576460}]}
            ]
        },
    )
    code = """async function onTrack(event, settings) {
      const Mailjet = nodemailjet.nodemailjet;
      Mailjet.Request.protocol = 'http://';  // the stand-in speaks plain HTTP
      const mailjet = Mailjet.apiConnect(settings.apiKey, settings.apiSecret, {config: {host: '127.0.0.1:' + settings.port}});
      const result = await mailjet.post('send', {version: 'v3.1'}).request({
        Messages: [{
          From: {Email: 'shop@example.com', Name: 'Shop'},
          To: [{Email: event.properties.email}],
          Subject: 'Your order',
          TextPart: 'Order ' + event.properties.orderId,
        }],
      });
      return [result.response.status, result.body.Messages[0].Status, result.body.Messages[0].To[0].MessageID];
    }"""
    event = {
        "type": "track",
        "event": "Order Completed",
        "properties": {"email": "ada@example.com", "orderId": "o-1"},
    }
    r = await run(
        pool, code, event, {"apiKey": MAILJET_KEY, "apiSecret": MAILJET_SECRET, **endpoint(vendor)}
    )
    assert r.outcome == "success", r.error
    assert r.result == [200, "success", 576460]
    got = vendor.only()
    assert (got.method, got.path) == ("POST", "/v3.1/send")
    assert got.headers["authorization"] == basic(MAILJET_KEY, MAILJET_SECRET)
    assert got.headers["content-type"] == "application/json"
    assert got.json() == {"Messages": [{
        "From": {"Email": "shop@example.com", "Name": "Shop"}, "To": [{"Email": "ada@example.com"}],
        "Subject": "Your order", "TextPart": "Order o-1",
    }]}  # fmt: skip
    (trace,) = assert_traced_and_masked(r, MAILJET_SECRET)
    assert sent_header(trace, "Authorization") == f"Basic {MASK}"


async def test_mailjet_3_connect_and_errors(pool, vendor):
    vendor.reply(
        "GET",
        "/v3/REST/contact/ada@example.com",
        {"ErrorMessage": "Object not found", "StatusCode": 404},
        status=404,
    )
    code = """async function onIdentify(event, settings) {
      const Mailjet = nodemailjet.nodemailjet;
      Mailjet.Request.protocol = 'http://';
      const mailjet = Mailjet.connect(settings.apiKey, settings.apiSecret, {url: '127.0.0.1:' + settings.port});
      try { await mailjet.get('contact').id(event.traits.email).request() } catch (e) {
        return [e.statusCode, e.originalMessage, e instanceof Error];
      }
    }"""
    event = {"type": "identify", "userId": "u1", "traits": {"email": "ada@example.com"}}
    r = await run(
        pool, code, event, {"apiKey": MAILJET_KEY, "apiSecret": MAILJET_SECRET, **endpoint(vendor)}
    )
    assert r.outcome == "success", r.error
    assert r.result == [404, "Object not found", True]
    got = vendor.only()
    assert (got.method, got.path) == ("GET", "/v3/REST/contact/ada@example.com")
    assert got.headers["authorization"] == basic(MAILJET_KEY, MAILJET_SECRET)


# ---------------------------------------------------------------- hubspot

HUBSPOT_TOKEN = "pat-na1-0123456789abcdef"


async def test_hubspot_upserts_a_contact(pool, vendor):
    vendor.reply("POST", "/crm/v3/objects/contacts/batch/upsert", {
        "status": "COMPLETE", "startedAt": "2024-01-01T00:00:00Z", "completedAt": "2024-01-01T00:00:01Z",
        "results": [{"id": "501", "new": True, "archived": False, "properties": {"email": "ada@example.com", "firstname": "Ada"},
                     "createdAt": "2024-01-01T00:00:00Z", "updatedAt": "2024-01-01T00:00:00Z"}],
    })  # fmt: skip
    code = """async function onIdentify(event, settings) {
      const hubspotClient = new hubspotlib.hubspot.Client({accessToken: settings.accessToken, basePath: 'http://127.0.0.1:' + settings.port});
      const response = await hubspotClient.crm.contacts.batchApi.upsert({inputs: [{
        idProperty: 'email', id: event.traits.email,
        properties: {email: event.traits.email, firstname: event.traits.firstName},
      }]});
      const contact = response.results[0];
      return [response.status, contact.id, contact._new === undefined ? contact['new'] : contact._new, contact.properties.firstname, contact.createdAt instanceof Date];
    }"""
    event = {
        "type": "identify",
        "userId": "u1",
        "traits": {"email": "ada@example.com", "firstName": "Ada"},
    }
    r = await run(pool, code, event, {"accessToken": HUBSPOT_TOKEN, **endpoint(vendor)})
    assert r.outcome == "success", r.error
    assert r.result == ["COMPLETE", "501", True, "Ada", True]
    got = vendor.only()
    assert (got.method, got.path) == ("POST", "/crm/v3/objects/contacts/batch/upsert")
    assert got.headers["authorization"] == f"Bearer {HUBSPOT_TOKEN}"
    assert got.headers["content-type"].startswith("application/json")
    assert got.json() == {"inputs": [{"idProperty": "email", "id": "ada@example.com",
                                      "properties": {"email": "ada@example.com", "firstname": "Ada"}}]}  # fmt: skip
    (trace,) = assert_traced_and_masked(r, HUBSPOT_TOKEN)
    assert sent_header(trace, "Authorization") == f"Bearer {MASK}"


async def test_hubspot_errors_carry_the_status_and_body(pool, vendor):
    vendor.reply(
        "GET",
        "/crm/v3/objects/contacts/999",
        {"status": "error", "message": "Object not found", "category": "OBJECT_NOT_FOUND"},
        status=404,
    )
    code = """async function onTrack(event, settings) {
      const client = new hubspotlib.hubspot.Client({accessToken: settings.accessToken, basePath: 'http://127.0.0.1:' + settings.port, numberOfApiCallRetries: 0});
      try { await client.crm.contacts.basicApi.getById('999') } catch (e) {
        return [e.code, e.body.category, e instanceof Error];
      }
    }"""
    r = await run(pool, code, settings={"accessToken": HUBSPOT_TOKEN, **endpoint(vendor)})
    assert r.outcome == "success", r.error
    assert r.result == [404, "OBJECT_NOT_FOUND", True]
    assert vendor.only().route == "/crm/v3/objects/contacts/999"


# ---------------------------------------------------------------- jsforce

SALESFORCE_TOKEN = "00Dxx0000001gPL!AQ4AQFake0123456789"


async def test_jsforce_queries_salesforce_and_creates_a_lead(pool, vendor):
    vendor.reply("GET", "/services/data/v59.0/query", {
        "totalSize": 1, "done": True,
        "records": [{"attributes": {"type": "Account", "url": "/services/data/v59.0/sobjects/Account/001A"}, "Id": "001A", "Name": "Acme"}],
    })  # fmt: skip
    vendor.reply(
        "POST",
        "/services/data/v59.0/sobjects/Lead",
        {"id": "00QA", "success": True, "errors": []},
        status=201,
    )
    code = """async function onIdentify(event, settings) {
      const conn = new jsforce.Connection({instanceUrl: 'http://127.0.0.1:' + settings.port, accessToken: settings.accessToken, version: '59.0'});
      const accounts = await conn.query("SELECT Id, Name FROM Account WHERE Name = '" + event.traits.company + "'");
      const lead = await conn.sobject('Lead').create({LastName: event.traits.lastName, Company: accounts.records[0].Name, Email: event.traits.email});
      return [accounts.totalSize, accounts.records[0].Id, lead.id, lead.success];
    }"""
    event = {
        "type": "identify",
        "userId": "u1",
        "traits": {"company": "Acme", "lastName": "Lovelace", "email": "ada@example.com"},
    }
    r = await run(pool, code, event, {"accessToken": SALESFORCE_TOKEN, **endpoint(vendor)})
    assert r.outcome == "success", r.error
    assert r.result == [1, "001A", "00QA", True]
    query, create = vendor.arrived
    assert (query.method, query.route) == ("GET", "/services/data/v59.0/query")
    assert dict(parse_qsl(urlsplit(query.path).query)) == {
        "q": "SELECT Id, Name FROM Account WHERE Name = 'Acme'"
    }
    assert (create.method, create.path) == ("POST", "/services/data/v59.0/sobjects/Lead")
    assert (
        query.headers["authorization"]
        == create.headers["authorization"]
        == f"Bearer {SALESFORCE_TOKEN}"
    )
    assert create.json() == {"LastName": "Lovelace", "Company": "Acme", "Email": "ada@example.com"}
    traces = assert_traced_and_masked(r, SALESFORCE_TOKEN, count=2)
    assert [sent_header(t, "Authorization") for t in traces] == [f"Bearer {MASK}"] * 2


async def test_jsforce_api_errors(pool, vendor):
    vendor.reply(
        "POST",
        "/services/data/v59.0/sobjects/Lead",
        [
            {
                "message": "Required fields are missing: [LastName]",
                "errorCode": "REQUIRED_FIELD_MISSING",
                "fields": ["LastName"],
            }
        ],
        status=400,
    )
    code = """async function onTrack(event, settings) {
      const conn = new jsforce.Connection({instanceUrl: 'http://127.0.0.1:' + settings.port, accessToken: settings.accessToken, version: '59.0'});
      try { await conn.sobject('Lead').create({Company: 'Acme'}) } catch (e) {
        return [e.errorCode, e.message, e instanceof Error];
      }
    }"""
    r = await run(pool, code, settings={"accessToken": SALESFORCE_TOKEN, **endpoint(vendor)})
    assert r.outcome == "success", r.error
    assert r.result == ["REQUIRED_FIELD_MISSING", "Required fields are missing: [LastName]", True]


# ---------------------------------------------------------------- AWS

AWS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
AWS_CLIENT = "{accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey, region: 'us-west-2', endpoint: 'http://127.0.0.1:' + settings.port, maxRetries: 0}"


def assert_sigv4(got: Arrived, service: str) -> None:
    """The request carries a valid AWS Signature Version 4, recomputed here from what
    arrived and the secret (so the SDK's in-realm hashing and signing are right)."""
    auth = got.headers["authorization"]
    m = re.fullmatch(r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, "
                     r"SignedHeaders=([^,]+), Signature=([0-9a-f]{64})", auth)  # fmt: skip
    assert m, auth
    key_id, day, region, svc, signed, signature = m.groups()
    assert (key_id, region, svc) == (AWS_KEY_ID, "us-west-2", service)
    parts = urlsplit(got.path)
    query = "&".join(sorted(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}"
                            for k, v in parse_qsl(parts.query, keep_blank_values=True)))  # fmt: skip
    names = signed.split(";")
    canonical = "\n".join([
        got.method, parts.path, query,
        "".join(f"{n}:{' '.join(got.headers[n].split())}\n" for n in names), signed,
        got.headers.get("x-amz-content-sha256") or hashlib.sha256(got.body).hexdigest(),
    ])  # fmt: skip
    scope = f"{day}/{region}/{svc}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", got.headers["x-amz-date"], scope,
                         hashlib.sha256(canonical.encode()).hexdigest()])  # fmt: skip
    key = f"AWS4{AWS_SECRET}".encode()
    for part in (day, region, svc, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    assert hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest() == signature


async def test_aws_s3_puts_an_object(pool, vendor):
    vendor.reply("PUT", "/my-bucket/events/m-1.json", b"", headers={"ETag": '"abc123"'})
    code = f"""async function onTrack(event, settings) {{
      const s3 = new AWS.S3({{...{AWS_CLIENT}, s3ForcePathStyle: true}});
      const out = await s3.putObject({{
        Bucket: 'my-bucket', Key: 'events/' + event.messageId + '.json',
        Body: JSON.stringify(event), ContentType: 'application/json',
      }}).promise();
      return out.ETag;
    }}"""
    event = {"type": "track", "event": "Clicked", "messageId": "m-1"}
    r = await run(
        pool,
        code,
        event,
        {"accessKeyId": AWS_KEY_ID, "secretAccessKey": AWS_SECRET, **endpoint(vendor)},
    )
    assert r.outcome == "success", r.error
    assert r.result == '"abc123"'
    got = vendor.only()
    assert (got.method, got.path) == ("PUT", "/my-bucket/events/m-1.json")
    assert_sigv4(got, "s3")
    # The SDK's browser build names the charset, as browsers would add it anyway.
    assert got.headers["content-type"] == "application/json; charset=UTF-8"
    assert json.loads(got.body) == event
    (trace,) = assert_traced_and_masked(r, AWS_SECRET)
    assert trace["method"] == "PUT" and trace["status"] == 200


async def test_aws_dynamodb_document_client_and_sqs(pool, vendor):
    vendor.reply("POST", "/", {})
    code = f"""async function onIdentify(event, settings) {{
      const db = new AWS.DynamoDB.DocumentClient({AWS_CLIENT});
      await db.put({{TableName: 'users', Item: {{userId: event.userId, plan: event.traits.plan, seats: 3}}}}).promise();
      return 'stored';
    }}"""
    event = {"type": "identify", "userId": "u-7", "traits": {"plan": "pro"}}
    r = await run(
        pool,
        code,
        event,
        {"accessKeyId": AWS_KEY_ID, "secretAccessKey": AWS_SECRET, **endpoint(vendor)},
    )
    assert r.outcome == "success", r.error
    assert r.result == "stored"
    got = vendor.only()
    assert (got.method, got.path) == ("POST", "/")
    assert got.headers["x-amz-target"] == "DynamoDB_20120810.PutItem"
    assert_sigv4(got, "dynamodb")
    assert got.json() == {
        "TableName": "users",
        "Item": {"userId": {"S": "u-7"}, "plan": {"S": "pro"}, "seats": {"N": "3"}},
    }
    assert_traced_and_masked(r, AWS_SECRET)


async def test_aws_service_errors_carry_their_code(pool, vendor):
    vendor.reply(
        "POST", "/",
        {"__type": "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException", "message": "Requested resource not found"},
        status=400,
    )  # fmt: skip
    code = f"""async function onTrack(event, settings) {{
      const db = new AWS.DynamoDB({AWS_CLIENT});
      try {{ await db.getItem({{TableName: 'missing', Key: {{id: {{S: '1'}}}}}}).promise() }} catch (e) {{
        return [e.code, e.statusCode, e.message, e instanceof Error];
      }}
    }}"""
    r = await run(
        pool,
        code,
        settings={"accessKeyId": AWS_KEY_ID, "secretAccessKey": AWS_SECRET, **endpoint(vendor)},
    )
    assert r.outcome == "success", r.error
    assert r.result == ["ResourceNotFoundException", 400, "Requested resource not found", True]


# ---------------------------------------------------------------- google.cloud


@pytest.fixture(scope="module")
def service_account() -> dict[str, str]:
    """A service account key made for the test (Google's JSON key file layout)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()  # fmt: skip
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()  # fmt: skip
    return {
        "type": "service_account", "project_id": "acme-analytics", "private_key_id": "k1",
        "private_key": pem, "client_email": "fn@acme-analytics.iam.gserviceaccount.com",
        "public_key": public,
    }  # fmt: skip


def assert_google_jwt(got: Arrived, account: dict[str, str]) -> None:
    """The request carries a self-signed JWT of the service account (RS256), as
    google-auth-library sends for Google APIs: signed in the function's realm."""
    scheme, _, token = got.headers["authorization"].partition(" ")
    assert scheme == "Bearer"
    claims = pyjwt.decode(
        token, account["public_key"], algorithms=["RS256"], options={"verify_aud": False}
    )
    assert claims["iss"] == claims["sub"] == account["client_email"]
    assert pyjwt.get_unverified_header(token)["kid"] == account["private_key_id"]


GOOGLE_CREDENTIALS = "{client_email: settings.account.client_email, private_key: settings.account.private_key, private_key_id: settings.account.private_key_id, type: 'service_account'}"


async def test_google_cloud_bigquery_inserts_rows(pool, vendor, service_account):
    path = "/bigquery/v2/projects/acme-analytics/datasets/analytics/tables/events/insertAll"
    vendor.reply("POST", path, {"kind": "bigquery#tableDataInsertAllResponse"})
    code = f"""async function onTrack(event, settings) {{
      const bigquery = new google.cloud.bigquery.BigQuery({{
        projectId: settings.account.project_id, credentials: {{...{GOOGLE_CREDENTIALS}, universe_domain: 'loopback.test'}},
        apiEndpoint: 'http://127.0.0.1:' + settings.port,
        // Outside Google's default universe, google-auth-library sends self-signed JWTs
        // instead of exchanging them at oauth2.googleapis.com: no other host to stand in for.
        universeDomain: 'loopback.test',
      }});
      const [response] = await bigquery.dataset('analytics').table('events').insert([
        {{event: event.event, user_id: event.userId, ts: event.timestamp}},
      ]);
      return response.kind;
    }}"""
    event = {
        "type": "track",
        "event": "Signed Up",
        "userId": "u-1",
        "timestamp": "2024-05-01T00:00:00Z",
    }
    r = await run(pool, code, event, {"account": service_account, **endpoint(vendor)})
    assert r.outcome == "success", r.error
    assert r.result == "bigquery#tableDataInsertAllResponse"
    got = vendor.only()
    assert (got.method, got.path) == ("POST", path + "?prettyPrint=false")
    assert_google_jwt(got, service_account)
    (row,) = got.json()["rows"]
    assert row["json"] == {"event": "Signed Up", "user_id": "u-1", "ts": "2024-05-01T00:00:00Z"}
    assert re.fullmatch(r"[0-9a-f-]{36}", row["insertId"])
    (trace,) = r.requests
    assert sent_header(trace, "Authorization") == f"Bearer {MASK}"
    assert service_account["private_key"] not in json.dumps(r.to_dict())


def crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli), which Cloud Storage reports for an object and the client checks."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


async def test_google_cloud_storage_saves_and_downloads_an_object(pool, vendor, service_account):
    data = b'{"a":1}'
    # What Cloud Storage answers: the object's metadata, with the hashes the client
    # checks the upload against.
    vendor.reply("POST", "/upload/storage/v1/b/acme-events/o", {
        "kind": "storage#object", "name": "events/m-1.json", "bucket": "acme-events", "size": str(len(data)),
        "md5Hash": base64.b64encode(hashlib.md5(data).digest()).decode(),
        "crc32c": base64.b64encode(crc32c(data).to_bytes(4, "big")).decode(),
    })  # fmt: skip
    vendor.reply(
        "GET",
        "/storage/v1/b/acme-events/o/events%2Fm-1.json",
        b'{"stored":true}',
        headers={"Content-Type": "application/json"},
    )
    code = f"""async function onTrack(event, settings) {{
      const storage = new google.cloud.storage.Storage({{
        projectId: settings.account.project_id, credentials: {{...{GOOGLE_CREDENTIALS}, universe_domain: 'loopback.test'}},
        apiEndpoint: 'http://127.0.0.1:' + settings.port, universeDomain: 'loopback.test',
        useAuthWithCustomEndpoint: true,  // the package skips auth for custom endpoints unless told
      }});
      const file = storage.bucket('acme-events').file('events/' + event.messageId + '.json');
      await file.save(JSON.stringify(event.properties), {{resumable: false, contentType: 'application/json'}});
      const [contents] = await file.download();
      return JSON.parse(contents.toString());
    }}"""
    event = {"type": "track", "event": "Clicked", "messageId": "m-1", "properties": {"a": 1}}
    r = await run(pool, code, event, {"account": service_account, **endpoint(vendor)})
    assert r.outcome == "success", r.error
    assert r.result == {"stored": True}
    upload = vendor.arrived[0]
    assert (upload.method, upload.route) == ("POST", "/upload/storage/v1/b/acme-events/o")
    assert dict(parse_qsl(urlsplit(upload.path).query)) == {
        "uploadType": "multipart",
        "name": "events/m-1.json",
    }
    assert_google_jwt(upload, service_account)
    boundary = upload.headers["content-type"].split("boundary=", 1)[1]
    parts = [
        p for p in upload.body.split(f"--{boundary}".encode()) if p.strip() not in (b"", b"--")
    ]
    assert [p.split(b"\r\n\r\n", 1)[1].strip() for p in parts] == [
        b'{"contentType":"application/json"}',
        data,
    ]
    download = vendor.arrived[1]
    assert (download.method, download.route) == (
        "GET",
        "/storage/v1/b/acme-events/o/events%2Fm-1.json",
    )
    assert dict(parse_qsl(urlsplit(download.path).query))["alt"] == "media"
    assert_google_jwt(download, service_account)
    assert len(vendor.arrived) == 2
    assert_traced_and_masked(r, service_account["private_key"], count=2)


@pytest.mark.parametrize(
    "name", ["automl", "datastore", "firestore", "functions", "pubsub", "tasks"]
)
async def test_google_cloud_grpc_only_clients_say_which_rest_api_to_call(pool, name):
    code = f"""async function onTrack() {{
      try {{ const client = google.cloud.{name}; return ['no error', typeof client] }} catch (e) {{ return [e.code, e.message, e instanceof Error] }}
    }}"""
    r = await run(pool, code)
    assert r.outcome == "success", r.error
    code_, message, is_error = r.result
    assert (code_, is_error) == ("ERR_GRPC_UNAVAILABLE", True)
    assert (
        f"google.cloud.{name} is not available" in message
        and "googleapis.com" in message
        and "fetch" in message
    )


# ---------------------------------------------------------------- skyflow

# skyflow-node reads the bearer token's expiry: a JWT, valid for an hour.
SKYFLOW_TOKEN = pyjwt.encode(
    {"sub": "fn", "exp": int(time.time()) + 3600},
    "skyflow-test-signing-key-0123456789abcdef",
    "HS256",
)


@pytest_asyncio.fixture(loop_scope="module")
async def tls_vendor(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[Vendor, WorkerPool]]:
    """A stand-in on HTTPS (skyflow-node refuses any other vault URL), and a pool whose
    HTTP client trusts its self-signed certificate (httpx reads SSL_CERT_FILE when
    the pool makes its client, on its first fetch)."""
    with vendor_server(tls=True) as vendor:
        monkeypatch.setenv("SSL_CERT_FILE", vendor.ca_file)
        p = make_pool(workers=1, allow=["127.0.0.1"])
        try:
            yield vendor, p
        finally:
            await p.shutdown()


async def test_skyflow_inserts_a_record_into_the_vault(tls_vendor):
    vendor, tls_pool = tls_vendor
    vendor.reply(
        "POST",
        "/v1/vaults/vault123",
        {"responses": [{"records": [{"skyflow_id": "sky-1", "tokens": {"name": "tok-name"}}]}]},
    )
    code = """async function onIdentify(event, settings) {
      const { Skyflow } = skyflowlib.skyflow;
      const client = Skyflow.init({vaultID: 'vault123', vaultURL: 'https://127.0.0.1:' + settings.port, getBearerToken: () => Promise.resolve(settings.token)});
      const response = await client.insert({records: [{table: 'persons', fields: {name: event.traits.name}}]}, {tokens: true});
      return response.records[0];
    }"""
    event = {"type": "identify", "userId": "u1", "traits": {"name": "Ada"}}
    r = await run(tls_pool, code, event, {"token": SKYFLOW_TOKEN, **endpoint(vendor)})
    assert r.outcome == "success", r.error
    assert r.result == {
        "table": "persons",
        "fields": {"skyflow_id": "sky-1", "name": "tok-name"},
        "request_index": 0,
    }
    got = vendor.only()
    assert (got.method, got.path) == ("POST", "/v1/vaults/vault123")
    assert got.headers["authorization"] == f"Bearer {SKYFLOW_TOKEN}"
    sent = got.json()
    (record,) = sent["records"]
    assert (record["method"], record["tableName"], record["fields"]) == (
        "POST",
        "persons",
        {"name": "Ada"},
    )
    assert record["tokenization"] is True and sent["continueOnError"] is False
    (trace,) = assert_traced_and_masked(r, SKYFLOW_TOKEN)
    assert trace["url"].startswith("https://127.0.0.1:")


async def test_https_global_speaks_tls(tls_vendor):
    vendor, tls_pool = tls_vendor
    vendor.reply("GET", "/v1/ping", {"pong": True})
    code = """async function onTrack(event, settings) {
      return await new Promise((resolve, reject) => https.get('https://127.0.0.1:' + settings.port + '/v1/ping', (res) => {
        let body = ''; res.on('data', (c) => { body += c }); res.on('end', () => resolve([res.statusCode, JSON.parse(body)]));
      }).on('error', reject));
    }"""
    r = await run(tls_pool, code, settings=endpoint(vendor))
    assert r.outcome == "success", r.error
    assert r.result == [200, {"pong": True}]
    assert vendor.only().path == "/v1/ping"


async def test_loading_an_sdk_counts_against_the_time_limit(pool):
    # twilio's bundle (3.8 MB) takes far more than 1 ms to evaluate in a new context.
    code = "async function onTrack() { return typeof twilio }"
    r = await run(pool, code, timeout_ms=1)
    assert (r.outcome, r.error.type) == ("timeout", "Timeout"), r.error
    assert "loading the function exceeded" in r.error.message
    r = await run(pool, code)
    assert (r.outcome, r.result) == ("success", "function")


# ---------------------------------------------------------------- every SDK

# One call per SDK, for the tests that hold for all of them (egress policy).
SDK_CALLS: dict[str, str] = {
    "skyflow": "await skyflowlib.skyflow.Skyflow.init({vaultID: 'v', vaultURL: 'https://127.0.0.1:' + settings.port, getBearerToken: () => Promise.resolve(settings.jwt)}).insert({records: [{table: 't', fields: {a: 1}}]})",
    "google.cloud.bigquery": "await new google.cloud.bigquery.BigQuery({projectId: 'p', apiEndpoint: 'http://127.0.0.1:' + settings.port, credentials: {client_email: 'a@b.c', private_key: settings.account.private_key}}).dataset('d').table('t').insert([{a: 1}])",
    "AWS": "await new AWS.SQS({accessKeyId: settings.apiKey, secretAccessKey: settings.secret, region: 'us-east-1', endpoint: 'http://127.0.0.1:' + settings.port, maxRetries: 0}).sendMessage({QueueUrl: 'http://127.0.0.1:' + settings.port + '/1/q', MessageBody: 'x'}).promise()",
    "jsforce": "await new jsforce.Connection({instanceUrl: 'http://127.0.0.1:' + settings.port, accessToken: settings.apiKey}).query('SELECT Id FROM Account')",
    "hubspot": "await new hubspotlib.hubspot.Client({accessToken: settings.apiKey, basePath: 'http://127.0.0.1:' + settings.port}).crm.contacts.basicApi.create({properties: {email: 'a@b.c'}})",
    "mailjet": "nodemailjet.nodemailjet.Request.protocol = 'http://'; await nodemailjet.nodemailjet.apiConnect(settings.apiKey, settings.secret, {config: {host: '127.0.0.1:' + settings.port}}).post('send', {version: 'v3.1'}).request({Messages: []})",
    "twilio": "const c = twilio('AC' + settings.apiKey, settings.secret); c.api.baseUrl = 'http://127.0.0.1:' + settings.port; await c.messages.create({body: 'x', from: '+15017122661', to: '+15558675310'})",
    "sendgrid": "sendgrid.mail.setApiKey('SG.' + settings.apiKey); sendgrid.mail.client.setDefaultRequest('baseUrl', 'http://127.0.0.1:' + settings.port + '/'); await sendgrid.mail.send({to: 'a@b.c', from: 'd@e.f', subject: 's', text: 't'})",
    "stripe": "await stripe(settings.apiKey, {host: '127.0.0.1', port: settings.port, protocol: 'http', maxNetworkRetries: 0}).customers.create({email: 'a@b.c'})",
}


EGRESS_ERROR = {
    "AWS": "Network Failure",
    # skyflow-node reads `error.response.data` of any request error, and one that got
    # no response has none: a TypeError, as under Node.
    "skyflow": "reading 'data'",
}


@pytest.mark.parametrize("sdk", sorted(SDK_CALLS))
async def test_sdk_requests_obey_the_egress_policy(vendor, sdk, service_account):
    closed = make_pool(workers=1)  # nothing allow-listed: the loopback vendor is refused
    try:
        code = f"""async function onTrack(event, settings) {{
          try {{ {SDK_CALLS[sdk]}; return 'sent' }} catch (e) {{ return [e instanceof Error, String(e && (e.message + ' ' + (e.detail && e.detail.message || '') + ' ' + (e.cause && e.cause.message || '')))] }}
        }}"""
        r = await run(
            closed,
            code,
            settings={
                "apiKey": "key-0123456789",
                "secret": "secret-0123456789",
                "account": service_account,
                "jwt": SKYFLOW_TOKEN,
                **endpoint(vendor),
            },
        )
    finally:
        await closed.shutdown()
    assert r.outcome == "success", r.error
    assert r.result[0] is True, r.result
    assert vendor.arrived == []
    # The SDK's error says why, except where EGRESS_ERROR says otherwise (the trace
    # says why for all).
    assert r.result[1] and EGRESS_ERROR.get(sdk, "egress policy") in r.result[1], r.result
    assert r.requests and all("egress policy" in (t["error"] or "") for t in r.requests)


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
