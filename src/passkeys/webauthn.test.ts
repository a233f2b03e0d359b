import { describe, expect, test } from "bun:test";
import { cleanTransports, counterRegressed, handleMatches, readClientData, relyingParty, signCount, userHandle } from "./webauthn";

const b64 = (s: string | Buffer) => Buffer.from(s).toString("base64url");
const challenge = b64(Buffer.alloc(32, 7));

describe("relyingParty", () => {
  test("rp id is the public URL's host name, origin its origin", () => {
    expect(relyingParty("https://paas.example.com/some/path")).toEqual({ rpID: "paas.example.com", origin: "https://paas.example.com", name: "WiseHosting" });
    expect(relyingParty("http://localhost:4123")).toMatchObject({ rpID: "localhost", origin: "http://localhost:4123" });
    expect(relyingParty("https://Paas.Example.com:443/")).toMatchObject({ rpID: "paas.example.com", origin: "https://paas.example.com" });
  });
});

describe("readClientData", () => {
  test("reads challenge and type", () => {
    const cd = b64(JSON.stringify({ type: "webauthn.get", challenge, origin: "http://localhost:1" }));
    expect(readClientData(cd)).toEqual({ challenge, type: "webauthn.get" });
  });
  test("anything else is null", () => {
    expect(readClientData("not base64url!")).toBeNull();
    expect(readClientData(b64("not json"))).toBeNull();
    expect(readClientData(b64("null"))).toBeNull();
    expect(readClientData(b64(JSON.stringify({ type: "webauthn.get" })))).toBeNull();
    expect(readClientData(b64(JSON.stringify({ type: "webauthn.get", challenge: 5 })))).toBeNull();
    expect(readClientData(b64(JSON.stringify({ type: "webauthn.get", challenge: "short" })))).toBeNull();
    expect(readClientData(b64(JSON.stringify({ type: "webauthn.get", challenge: "a".repeat(200) })))).toBeNull();
    expect(readClientData(b64(JSON.stringify({ challenge })))).toBeNull();
  });
});

describe("signCount", () => {
  const authData = (count: number) => {
    const b = Buffer.alloc(37);
    b.writeUInt8(0x05, 32); // UP | UV
    b.writeUInt32BE(count, 33);
    return b64(b);
  };
  test("is the big-endian uint32 after the rp id hash and flags", () => {
    expect(signCount(authData(0))).toBe(0);
    expect(signCount(authData(258))).toBe(258);
    expect(signCount(authData(0xffffffff))).toBe(0xffffffff);
  });
  test("too short or not base64url is null", () => {
    expect(signCount(b64(Buffer.alloc(36)))).toBeNull();
    expect(signCount("***")).toBeNull();
  });
});

describe("counterRegressed (clone detection)", () => {
  test.each([
    [0, 0, false], // the authenticator does not count
    [0, 1, false],
    [5, 6, false],
    [5, 5, true], // the same counter again: a replay or a clone
    [5, 4, true],
    [5, 0, true], // stopped counting after it had counted
  ])("stored %d, received %d → %p", (stored, received, regressed) => {
    expect(counterRegressed(stored, received)).toBe(regressed);
  });
});

describe("transports and user handles", () => {
  test("unknown transports are dropped, the rest deduplicated and sorted", () => {
    expect(cleanTransports(["usb", "internal", "usb", "carrier-pigeon", "hybrid"])).toEqual(["hybrid", "internal", "usb"]);
    expect(cleanTransports(undefined)).toEqual([]);
  });
  test("the user handle is the user id's bytes, and only that id matches it", () => {
    const id = "6f1c1a5e-0d6b-4a53-9c39-2f4f0a3e8d11";
    const handle = b64(Buffer.from(userHandle(id)));
    expect(handleMatches(handle, id)).toBe(true);
    expect(handleMatches(handle, "00000000-0000-0000-0000-000000000000")).toBe(false);
    expect(handleMatches("", id)).toBe(true);
    expect(handleMatches(null, id)).toBe(true);
    expect(handleMatches("!!", id)).toBe(false);
  });
});
