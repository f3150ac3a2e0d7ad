"""Pictures made safe to show (pure: no servers), and stored by _id (the real store)."""

from __future__ import annotations

import base64
import io
import threading
from datetime import UTC, datetime, timedelta

import pytest
from PIL import ExifTags, Image, ImageCms, PngImagePlugin

from parentnet_kit import picture_store, pictures


def exif_with_gps(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneMaker"
    exif[ExifTags.Base.Orientation] = orientation
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef], gps[ExifTags.GPS.GPSLatitude] = "N", (48.0, 51.0, 29.5)
    return exif


def encoded(image: Image.Image, format: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, format, **options)
    return out.getvalue()


def test_every_variant_of_a_jpeg_loses_exif_xmp_icc_and_comments():
    image = Image.new("RGB", (3000, 2000), (10, 200, 30))
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF/></x:xmpmeta>'
    sent = encoded(image, "JPEG", exif=exif_with_gps(), icc_profile=b"\0" * 200, comment=b"home", xmp=xmp)
    assert {"JPEG APP1", "JPEG APP2", "JPEG COM"} <= set(pictures.metadata_free(sent))

    variants = pictures.process(sent)
    assert [(v.size, v.width, v.height) for v in variants] == [
        ("large", 2048, 1365),
        ("medium", 1024, 683),
        ("thumbnail", 320, 213),
    ]
    for variant in variants:
        assert pictures.metadata_free(variant.data) == []
        decoded = Image.open(io.BytesIO(variant.data))
        assert dict(decoded.getexif()) == {} and not {"exif", "xmp", "icc_profile", "comment"} & set(decoded.info)
        assert b"PhoneMaker" not in variant.data


@pytest.mark.parametrize(("format", "width"), [("JPEG", 400), ("PNG", 400), ("PNG", 6000)])
def test_the_orientation_is_applied_before_it_is_dropped(format, width):
    image = Image.new("RGB", (width, width // 2), (255, 255, 255))
    image.paste((255, 0, 0), (0, 0, width // 20, width // 20))  # top left, as stored
    [large, *_] = pictures.process(encoded(image, format, exif=exif_with_gps(orientation=6)))
    upright = Image.open(io.BytesIO(large.data)).convert("RGB")
    assert upright.size == (min(width // 2, 1024), min(width, 2048))
    assert upright.getpixel((upright.width - 5, 5))[0] > 200 and upright.getpixel((5, 5))[1] > 200  # top right


def test_colours_are_converted_to_srgb_before_the_profile_is_dropped():
    lab = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    image = Image.new("RGB", (64, 64), (200, 60, 40))
    [kept, *_] = pictures.process(encoded(image, "PNG", icc_profile=srgb))
    assert pictures.metadata_free(kept.data) == []
    red, green, blue = Image.open(io.BytesIO(kept.data)).convert("RGB").getpixel((32, 32))
    assert abs(red - 200) < 6 and abs(green - 60) < 6 and abs(blue - 40) < 6  # sRGB to sRGB: unchanged
    # A profile that is no RGB profile is ignored, never a failure.
    assert pictures.process(encoded(image, "PNG", icc_profile=lab))


def test_a_transparent_png_becomes_a_webp_without_text_chunks_and_an_opaque_one_a_jpeg():
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "taken at home")
    info.add_itxt("XML:com.adobe.xmp", "<x/>")
    clear = Image.new("RGBA", (300, 200), (0, 0, 0, 0))
    sent = encoded(clear, "PNG", pnginfo=info, exif=exif_with_gps())
    assert {"PNG tEXt", "PNG iTXt", "PNG eXIf"} <= set(pictures.metadata_free(sent))
    for variant in pictures.process(sent):
        assert variant.content_type == "image/webp" and pictures.metadata_free(variant.data) == []
    opaque = encoded(Image.new("RGBA", (300, 200), (1, 2, 3, 255)), "PNG", pnginfo=info)
    assert {v.content_type for v in pictures.process(opaque)} == {"image/jpeg"}


def test_a_webp_is_taken_and_small_pictures_are_never_enlarged():
    variants = pictures.process(encoded(Image.new("RGB", (100, 80)), "WEBP", exif=exif_with_gps()))
    assert [(v.width, v.height) for v in variants] == [(100, 80)] * 3


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "REQUIRED"),
        (b"GIF89a" + b"\0" * 100, "NOT_AN_IMAGE"),
        (b"\xff\xd8\xff\xe0 truncated", "NOT_AN_IMAGE"),
        (encoded(Image.new("RGB", (20, 20)), "GIF"), "NOT_AN_IMAGE"),
        (encoded(Image.new("RGB", (20, 20)), "BMP"), "NOT_AN_IMAGE"),
    ],
)
def test_what_is_not_a_jpeg_png_or_webp_is_refused(data, code):
    with pytest.raises(pictures.PictureRefused) as refused:
        pictures.process(data)
    assert refused.value.code == code


def test_bounds_hold_before_decoding():
    big = encoded(Image.new("1", (9000, 9000)), "PNG")  # 81 MP in ~60 KB
    with pytest.raises(pictures.PictureRefused) as refused:
        pictures.process(big)
    assert refused.value.code == "TOO_LARGE" and "9000 x 9000" in refused.value.message
    with pytest.raises(pictures.PictureRefused) as refused:
        pictures.process(b"\xff\xd8" + b"\0" * 2_000, pictures.Limits(max_bytes=1_000))
    assert refused.value.code == "TOO_LARGE"


def test_a_variant_with_metadata_or_a_wrong_digest_is_never_stored(db):
    store = picture_store.PictureStore(db, per_subject=2)
    wire = picture_store.to_wire(pictures.process(encoded(Image.new("RGB", (50, 40)), "PNG")))
    tainted = encoded(Image.new("RGB", (50, 40)), "JPEG", exif=exif_with_gps())
    bad = [{**wire[0], "data": base64.b64encode(tainted).decode()}, *wire[1:]]
    result = store.add("outing:o1", "p1", bad, "m1")
    assert result["picture"] is None and result["errors"][0]["code"] == "INVALID"
    assert store.of(["outing:o1"]) == [[]] and db["picture_files"].count_documents({}) == 0


def test_racing_uploads_never_pass_the_limit_and_removal_frees_a_place(db):
    store = picture_store.PictureStore(db, per_subject=2)
    wire = picture_store.to_wire(pictures.process(encoded(Image.new("RGB", (50, 40)), "PNG")))
    results: list[dict] = []
    threads = [
        threading.Thread(target=lambda i=i: results.append(store.add("outing:o1", f"p{i}", wire, "m1")))
        for i in range(6)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    kept = [r["picture"]["id"] for r in results if r["picture"]]
    assert len(kept) == 2 and sorted(r["errors"][0]["code"] for r in results if not r["picture"]) == ["TOO_MANY"] * 4
    assert sorted(p["id"] for p in store.of(["outing:o1"])[0]) == sorted(kept)

    assert store.file("outing:o1", kept[0], wire[2]["sha256"])["content_type"] == "image/jpeg"
    assert store.remove("outing:o1", kept[0]) and not store.remove("outing:o1", kept[0])
    assert store.file("outing:o1", kept[0], wire[2]["sha256"]) is None
    assert store.add("outing:o1", "p9", wire, "m1")["picture"]["id"] == "p9"
    # The same request delivered twice stores one picture.
    assert store.add("outing:o1", "p9", wire, "m1")["picture"]["id"] == "p9"
    assert len(store.of(["outing:o1"])[0]) == 2


def test_a_slot_whose_picture_never_came_is_taken_back_after_a_while(db):
    store = picture_store.PictureStore(db, per_subject=1)
    wire = picture_store.to_wire(pictures.process(encoded(Image.new("RGB", (50, 40)), "PNG")))
    # A writer died after taking the slot: a minute ago the slot still counts, an hour ago not.
    db["picture_slots"].insert_one({"_id": "outing:o1:1", "picture_id": "dead", "at": datetime.now(UTC)})
    assert store.add("outing:o1", "p1", wire, "m1")["errors"][0]["code"] == "TOO_MANY"
    db["picture_slots"].update_one({"_id": "outing:o1:1"}, {"$set": {"at": datetime.now(UTC) - timedelta(hours=1)}})
    assert store.add("outing:o1", "p1", wire, "m1")["picture"]["id"] == "p1"


def with_segments(jpeg: bytes, *segments: tuple[int, bytes]) -> bytes:
    """``jpeg`` with (marker, payload) segments inserted right after its start of image."""
    extra = b"".join(bytes([0xFF, marker]) + (len(body) + 2).to_bytes(2, "big") + body for marker, body in segments)
    return jpeg[:2] + extra + jpeg[2:]


def test_iptc_and_an_embedded_thumbnail_are_gone_too():
    thumbnail = encoded(Image.new("RGB", (16, 12), (255, 0, 0)), "JPEG")
    iptc = b"Photoshop 3.0\x008BIM\x04\x04\x00\x00\x00\x00\x00\x0c\x1c\x02\x5a\x00\x05Paris"  # city: Paris
    jfxx = b"JFXX\x00\x10" + thumbnail  # an APP0 thumbnail extension
    sent = with_segments(encoded(Image.new("RGB", (640, 480)), "JPEG"), (0xED, iptc), (0xE0, jfxx))
    assert {"JPEG APP13", "JPEG APP0 (not JFIF)"} <= set(pictures.metadata_free(sent))
    for variant in pictures.process(sent):
        assert pictures.metadata_free(variant.data) == [] and b"Paris" not in variant.data
        assert variant.data.count(b"\xff\xd8") == 1  # one image in the file: no thumbnail inside
