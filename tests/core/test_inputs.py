"""convviz.io.inputs on image files and on files that are not usable at all.

Arrays (.npy/.npz), validation and downscaling: test_inputs_arrays.py.
"""

import os
import struct
import tracemalloc
import zlib

import numpy as np
import pytest
from PIL import Image, ImageFile

from convviz.io.inputs import (
    MAX_PIXELS,
    SUPPORTED_SUFFIXES,
    InputError,
    load_input,
    read_input,
)

# A refused file allocates a few blocks at most: accepting a hostile input would take
# hundreds of megabytes (the measured peaks are under 2 MB). Memory, not time, shows that
# the refusal came early, so it holds on a busy machine too.
REFUSAL_BYTES = 32_000_000


def png_bytes(width, height, raw=b"", depth=8, colour_type=0, compress=zlib.compress):
    """A PNG built by hand, so its header can say anything."""

    def chunk(kind, data):
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, depth, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", compress(raw))
        + chunk(b"IEND", b"")
    )


def opened(path, attribute):
    with Image.open(path) as image:
        return getattr(image, attribute)


def noise(shape, seed=0):
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def reject(path, *words, **kwargs):
    """Load path, expect an InputError naming the file and containing every word, having
    allocated little: a hostile file is refused from its header or a few blocks."""
    tracemalloc.start()
    try:
        with pytest.raises(InputError) as info:
            load_input(path, **kwargs)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < REFUSAL_BYTES, peak
    message = str(info.value)
    assert os.path.basename(path) in message
    for word in words:
        assert word in message
    return message


# --- files that are not there or not files ------------------------------------


def test_missing_file(tmp_path):
    reject(tmp_path / "cat.png", "no such file")


def test_directory(tmp_path):
    folder = tmp_path / "pictures.png"
    folder.mkdir()
    reject(folder, "folder")


def test_empty_file(tmp_path):
    (tmp_path / "empty.png").write_bytes(b"")
    reject(tmp_path / "empty.png", "empty")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_named_pipe_is_refused_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "pipe.png")
    reject(tmp_path / "pipe.png", "not a regular file")


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads all")
def test_unreadable_file(tmp_path):
    Image.new("L", (2, 2)).save(tmp_path / "secret.png")
    (tmp_path / "secret.png").chmod(0)
    reject(tmp_path / "secret.png", "permission denied")


@pytest.mark.parametrize("name", ["notes.txt", "scan.tiff", "README"])
def test_unsupported_extension_lists_the_supported_ones(tmp_path, name):
    (tmp_path / name).write_bytes(b"something")
    message = reject(tmp_path / name, "cannot open", ".png", ".npy")
    assert all(suffix in message for suffix in SUPPORTED_SUFFIXES)


# --- broken images ------------------------------------------------------------


def test_truncated_png(tmp_path):
    Image.fromarray(noise((64, 64, 3))).save(tmp_path / "full.png")
    data = (tmp_path / "full.png").read_bytes()
    (tmp_path / "cat.png").write_bytes(data[: len(data) // 2])
    reject(tmp_path / "cat.png", "truncated or corrupt")
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_truncated_jpeg(tmp_path):
    Image.fromarray(noise((64, 64, 3))).save(tmp_path / "full.jpg", quality=90)
    data = (tmp_path / "full.jpg").read_bytes()
    (tmp_path / "photo.jpg").write_bytes(data[: len(data) // 2])
    reject(tmp_path / "photo.jpg", "truncated")


def test_png_with_damaged_pixel_data(tmp_path):
    data = bytearray(png_bytes(8, 8, bytes(8 * 9)))
    data[-20] ^= 0xFF  # inside the IDAT chunk: its checksum no longer matches
    (tmp_path / "damaged.png").write_bytes(bytes(data))
    reject(tmp_path / "damaged.png", "corrupt")


@pytest.mark.parametrize(
    ("name", "content", "word"),
    [
        ("letter.png", b"Dear parents, the school trip is on Friday.\n" * 20, "not an image"),
        ("random.jpg", np.random.default_rng(1).bytes(5000), "not an image"),
        ("random.webp", np.random.default_rng(2).bytes(5000), "not an image"),
        # A valid signature followed by noise: the noise is read as a huge size.
        ("random.gif", b"GIF89a" + np.random.default_rng(2).bytes(200), "too large"),
        ("random.bmp", b"BM" + np.random.default_rng(3).bytes(200), ""),
    ],
    ids=["text", "noise-jpg", "noise-webp", "noise-gif", "noise-bmp"],
)
def test_not_an_image(tmp_path, name, content, word):
    (tmp_path / name).write_bytes(content)
    reject(tmp_path / name, word)


def test_other_formats_are_not_decoded_even_when_pillow_could(tmp_path):
    Image.fromarray(noise((4, 4))).save(tmp_path / "scan.tif")
    (tmp_path / "scan.png").write_bytes((tmp_path / "scan.tif").read_bytes())
    reject(tmp_path / "scan.png", "not an image", "PNG, JPEG")


def test_header_declaring_enormous_dimensions(tmp_path):
    (tmp_path / "huge.png").write_bytes(png_bytes(100_000, 100_000))
    reject(tmp_path / "huge.png", "too large")


def test_header_declaring_a_too_long_side(tmp_path):
    (tmp_path / "strip.png").write_bytes(png_bytes(20_000, 10))
    reject(tmp_path / "strip.png", "too large", "20000×10")


def test_small_file_that_decompresses_to_a_huge_image(tmp_path):
    width, height = 8000, MAX_PIXELS // 8000 + 10
    packer = zlib.compressobj(1)
    row = bytes(width + 1)
    body = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    (tmp_path / "bomb.png").write_bytes(png_bytes(width, height, compress=lambda _: body))
    assert (tmp_path / "bomb.png").stat().st_size < 1_000_000
    reject(tmp_path / "bomb.png", "too large")


# --- unusual but legal images -------------------------------------------------


def test_rgb_png_exact_values_and_uppercase_suffix(tmp_path):
    pixels = noise((5, 7, 3))
    Image.fromarray(pixels).save(tmp_path / "CAT.PNG")
    loaded = read_input(tmp_path / "CAT.PNG")
    assert loaded.array.dtype == np.float32 and loaded.array.flags.c_contiguous
    np.testing.assert_allclose(loaded.array, pixels / 255.0, rtol=1e-6)
    assert loaded.channel_names == ("R", "G", "B")
    assert loaded.original_shape == (5, 7, 3)
    assert not loaded.downscaled and loaded.notice is None


def test_16_bit_grey_png(tmp_path):
    values = np.array([[0, 1, 256], [32768, 65534, 65535]], dtype=np.uint16)
    Image.fromarray(values).save(tmp_path / "depth.png")
    assert opened(tmp_path / "depth.png", "mode") == "I;16"
    loaded = read_input(tmp_path / "depth.png")
    np.testing.assert_allclose(loaded.array[:, :, 0], values / 65535.0, rtol=1e-6)
    assert loaded.channel_names == ("grey",)


def test_16_bit_grey_png_with_transparent_value(tmp_path):
    values = np.array([[0, 5000], [65535, 300]], dtype=np.uint16)
    Image.fromarray(values).save(tmp_path / "depth.png", transparency=5000)
    loaded = read_input(tmp_path / "depth.png", keep_alpha=True)
    assert loaded.channel_names == ("grey", "A")
    np.testing.assert_allclose(loaded.array[:, :, 0], values / 65535.0, rtol=1e-6)
    np.testing.assert_array_equal(loaded.array[:, :, 1], [[1, 0], [1, 1]])


def palette_image(transparent_index=None):
    image = Image.new("P", (3, 2))
    image.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30])
    image.putdata([0, 1, 2, 3, 1, 0])
    if transparent_index is not None:
        image.info["transparency"] = transparent_index
    return image


PALETTE_RGB = np.array(
    [[[255, 0, 0], [0, 255, 0], [0, 0, 255]], [[10, 20, 30], [0, 255, 0], [255, 0, 0]]]
)


def test_palette_png_gives_its_colours(tmp_path):
    palette_image().save(tmp_path / "pal.png")
    loaded = read_input(tmp_path / "pal.png")
    np.testing.assert_allclose(loaded.array, PALETTE_RGB / 255.0, rtol=1e-6)
    assert loaded.channel_names == ("R", "G", "B")


def test_palette_png_with_transparency(tmp_path):
    palette_image(transparent_index=1).save(tmp_path / "pal.png", transparency=1)
    assert load_input(tmp_path / "pal.png").shape == (2, 3, 3)
    loaded = read_input(tmp_path / "pal.png", keep_alpha=True)
    assert loaded.channel_names == ("R", "G", "B", "A")
    np.testing.assert_allclose(loaded.array[:, :, :3], PALETTE_RGB / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(loaded.array[:, :, 3], [[1, 0, 1], [1, 0, 1]])


def test_grey_alpha_png(tmp_path):
    grey, alpha = noise((3, 4), seed=3), noise((3, 4), seed=4)
    Image.fromarray(np.dstack([grey, alpha]), "LA").save(tmp_path / "ghost.png")
    plain = read_input(tmp_path / "ghost.png")
    assert plain.channel_names == ("grey",)
    np.testing.assert_allclose(plain.array[:, :, 0], grey / 255.0, rtol=1e-6)
    kept = read_input(tmp_path / "ghost.png", keep_alpha=True)
    assert kept.channel_names == ("grey", "A")
    np.testing.assert_allclose(kept.array[:, :, 1], alpha / 255.0, rtol=1e-6)


def test_rgba_png_alpha_dropped_or_kept(tmp_path):
    pixels = noise((4, 4, 4), seed=5)
    Image.fromarray(pixels).save(tmp_path / "rgba.png")
    np.testing.assert_allclose(load_input(tmp_path / "rgba.png"), pixels[:, :, :3] / 255.0)
    kept = read_input(tmp_path / "rgba.png", keep_alpha=True)
    assert kept.channel_names == ("R", "G", "B", "A")
    np.testing.assert_allclose(kept.array, pixels / 255.0, rtol=1e-6)


def test_one_bit_image(tmp_path):
    bits = np.array([[0, 1, 0], [1, 1, 0]], dtype=bool)
    Image.fromarray(bits).save(tmp_path / "bits.png")
    assert opened(tmp_path / "bits.png", "mode") == "1"
    np.testing.assert_array_equal(load_input(tmp_path / "bits.png")[:, :, 0], bits)


def test_cmyk_jpeg_becomes_rgb(tmp_path):
    Image.new("CMYK", (8, 8), (0, 255, 255, 0)).save(tmp_path / "print.jpg", quality=100)
    loaded = read_input(tmp_path / "print.jpg")
    assert loaded.channel_names == ("R", "G", "B")
    np.testing.assert_allclose(loaded.array, np.broadcast_to([1.0, 0, 0], (8, 8, 3)), atol=3 / 255)


def test_animated_gif_gives_its_first_frame(tmp_path):
    first, second = Image.new("RGB", (3, 2), (255, 0, 0)), Image.new("RGB", (3, 2), (0, 0, 255))
    first.save(tmp_path / "anim.gif", save_all=True, append_images=[second], duration=50)
    assert opened(tmp_path / "anim.gif", "n_frames") == 2
    np.testing.assert_array_equal(
        load_input(tmp_path / "anim.gif"), np.tile([1.0, 0, 0], (2, 3, 1))
    )


@pytest.mark.parametrize(("suffix", "options"), [(".bmp", {}), (".webp", {"lossless": True})])
def test_bmp_and_lossless_webp(tmp_path, suffix, options):
    pixels = noise((6, 5, 3), seed=6)
    Image.fromarray(pixels).save(tmp_path / f"pic{suffix}", **options)
    np.testing.assert_allclose(load_input(tmp_path / f"pic{suffix}"), pixels / 255.0, rtol=1e-6)


def test_one_pixel_image(tmp_path):
    Image.new("L", (1, 1), 51).save(tmp_path / "dot.png")
    np.testing.assert_allclose(load_input(tmp_path / "dot.png", max_side=1), [[[0.2]]])


def test_photo_is_turned_upright_by_its_exif_orientation(tmp_path):
    grey = noise((2, 3), seed=7)
    image = Image.fromarray(grey)
    exif = image.getexif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    image.save(tmp_path / "phone.png", exif=exif)
    np.testing.assert_allclose(
        load_input(tmp_path / "phone.png")[:, :, 0], np.rot90(grey, -1) / 255
    )


def test_big_jpeg_is_decoded_small_then_area_averaged(tmp_path):
    y, x = np.mgrid[0:96, 0:160]
    smooth = np.dstack([x * 1.5, y * 2.5, (x + y) * 0.9]).astype(np.uint8)
    image = Image.fromarray(smooth)
    exif = image.getexif()
    exif[0x0112] = 6
    image.save(tmp_path / "photo.jpg", quality=95, exif=exif)
    loaded = read_input(tmp_path / "photo.jpg", max_side=20)
    assert loaded.original_shape == (160, 96, 3)  # upright: the photo stands
    assert loaded.array.shape == (20, 12, 3)
    assert loaded.notice == "Downscaled from 96×160 to 12×20 so the view stays live."
    full = load_input(tmp_path / "photo.jpg")
    expected = full.reshape(20, 8, 12, 8, 3).mean(axis=(1, 3))
    np.testing.assert_allclose(loaded.array, expected, atol=0.02)


def test_content_decides_the_format_among_the_supported_ones(tmp_path):
    Image.new("RGB", (4, 4), (0, 0, 0)).save(tmp_path / "photo.jpg")
    (tmp_path / "misnamed.png").write_bytes((tmp_path / "photo.jpg").read_bytes())
    assert load_input(tmp_path / "misnamed.png").shape == (4, 4, 3)


def test_image_downscaled_by_area_average(tmp_path):
    grey = np.zeros((6, 8), dtype=np.uint8)
    grey[:, :4] = 255
    Image.fromarray(grey).save(tmp_path / "half.png")
    loaded = read_input(tmp_path / "half.png", max_side=4)
    assert loaded.array.shape == (3, 4, 1)
    assert loaded.original_shape == (6, 8, 1) and loaded.downscaled
    assert loaded.notice == "Downscaled from 8×6 to 4×3 so the view stays live."
    np.testing.assert_allclose(loaded.array[:, :, 0], np.tile([1.0, 1.0, 0.0, 0.0], (3, 1)))
