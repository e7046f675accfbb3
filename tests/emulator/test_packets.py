"""Offloaded packets (API-ADDENDUM: "Offloaded packets"): the packets routes and the object store's
presigned URLs, as the service and its S3-compatible store answer."""

from __future__ import annotations

from .base import EmulatorCase

FILENAME = "trigger%2Fsend-email%2F1764552000000-abc%2Fpayload.json"


class PacketTests(EmulatorCase):
    def presign_upload(self, filename: str = FILENAME) -> dict:
        response = self.put(f"/api/v2/packets/{filename}")
        self.assertEqual(response.status_code, 200, response.text)
        return response.json()

    def test_upload_trigger_retrieve_download(self):
        presigned = self.presign_upload()
        self.assertEqual(
            presigned["storagePath"], "trigger/send-email/1764552000000-abc/payload.json"
        )
        self.assertTrue(presigned["presignedUrl"].startswith(self.emu.base_url + "/__objects__/"))
        uploaded = self.http.put(
            presigned["presignedUrl"],
            data=b'{"big":true}',
            headers={"Content-Type": "application/json"},
        )
        self.assertEqual(uploaded.status_code, 200)
        run_id = self.post(
            "/api/v1/tasks/send-email/trigger",
            json={
                "payload": presigned["storagePath"],
                "options": {"payloadType": "application/store", "payloadSize": 12},
            },
        ).json()["id"]
        run = self.get(f"/api/v3/runs/{run_id}").json()
        self.assertNotIn("payload", run)
        downloaded = self.http.get(run["payloadPresignedUrl"])
        self.assertEqual((downloaded.status_code, downloaded.content), (200, b'{"big":true}'))
        self.assertEqual(downloaded.headers["Content-Type"], "application/json")
        # GET /api/v1/packets presigns a download of the same object.
        again = self.get(f"/api/v1/packets/{FILENAME}").json()["presignedUrl"]
        self.assertEqual(self.http.get(again).content, b'{"big":true}')
        # The legacy v1 PUT answers the URL alone.
        self.assertEqual(list(self.put(f"/api/v1/packets/{FILENAME}").json()), ["presignedUrl"])

    def test_presigned_urls_expire_and_are_bound_to_their_method(self):
        url = self.presign_upload()["presignedUrl"]
        self.assertEqual(self.http.get(url).status_code, 403)  # signed for PUT
        tampered = url.replace("signature=", "signature=0")
        self.assertIn(b"SignatureDoesNotMatch", self.http.put(tampered, data=b"{}").content)
        self.emu.clock.advance(301)
        expired = self.http.put(url, data=b"{}")
        self.assertEqual(expired.status_code, 403)
        self.assertIn(b"Request has expired", expired.content)
        fresh = self.get(f"/api/v1/packets/{FILENAME}").json()["presignedUrl"]
        self.assertIn(b"NoSuchKey", self.http.get(fresh).content)

    def test_auth_and_path_checks(self):
        self.assertError(
            self.put(f"/api/v2/packets/{FILENAME}", token=None), 401, "Invalid or Missing API key"
        )
        for bad in ("..%2Fother%2Fpayload.json", "a%2F%2Fb.json", "%2Fabs.json", "a%5Cb.json"):
            with self.subTest(bad=bad):
                self.assertError(
                    self.put(f"/api/v2/packets/{bad}"), 400, "Invalid packet storage path"
                )
