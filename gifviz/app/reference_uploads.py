"""Reference images for a working zoo: the built-in ones, a folder on the server (inside the allowed roots), or
uploaded images and zips, each decoded onto the zoo's input space and written as PNGs into a new folder of this
visitor's (a zip's member names are shown in messages, never used as paths)."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from gifviz.app.fields import uploaded_image
from gifviz.app.serving import LIMIT_VARIABLES, ServingPolicy, ServingRefused, shorten, size_text
from gifviz.constants import builtin_root
from gifviz.errors import ReferenceSetError
from gifviz.hub.working_zoo import WorkingZoo
from gifviz.outputs import write_file
from gifviz.refs import IMAGE_SUFFIXES, image_files
from gifviz.space import InputSpace

SKIPPED_MEMBERS = ("__MACOSX/",)
_PIL_MODES = {1: "L", 3: "RGB", 4: "RGBA"}
UPLOAD_TYPES = (*(suffix.lstrip(".") for suffix in IMAGE_SUFFIXES), "zip")  # what the references uploader offers


def builtin_references() -> Path:
    """The built-in zoo's reference images (every working zoo starts with them)."""
    return builtin_root() / "builtin" / "refs"


def use_builtin_references(zoo: WorkingZoo) -> str:
    zoo.set_references(builtin_references())
    zoo.save()
    return "references: the built-in zoo's images"


def use_reference_folder(zoo: WorkingZoo, folder: str, policy: ServingPolicy) -> str:
    """Use a server folder of images (inside the allowed roots, holding at least one image) as the references."""
    if not folder.strip():
        raise ReferenceSetError("name a folder of reference images (PNG/JPEG)")
    path = policy.confine(folder.strip(), "reference folder")
    count = len(image_files(path))
    if not count:
        raise ReferenceSetError(f"reference folder {path} has no images ({', '.join(IMAGE_SUFFIXES)})")
    zoo.set_references(path)
    zoo.save()
    return f"references: {count} images of {path}"


def uploaded_references(
    uploads: Sequence[tuple[str, bytes]], space: InputSpace, policy: ServingPolicy
) -> list[tuple[str, np.ndarray]]:
    """Uploaded image files and zips of images -> ``(name, (C, H, W) float32 on space)`` per image, in order.

    Every image is decoded whole and converted as reference images are. A file that is not an image, a zip that
    cannot be read or holds no image, an image over the upload limit, or more images than the server's reference
    cap is one :class:`~gifviz.errors.GifvizError`; nothing is returned then. A zip's member names are only
    shown, never used as paths; members that are not images by name (notes, folders) are skipped.
    """
    images: list[tuple[str, np.ndarray]] = []
    for filename, data in uploads:
        name = Path(filename.replace("\\", "/")).name
        if name.lower().endswith(".zip"):
            images += _zip_images(name, data, space, policy)
        else:
            images.append((name, uploaded_image(name, data, space, policy.max_upload_bytes)))
        if len(images) > policy.max_refs:
            raise ServingRefused(
                f"more than {policy.max_refs} reference images uploaded, over this server's limit "
                f"({LIMIT_VARIABLES['max_refs']}); upload fewer"
            )
    if not images:
        raise ReferenceSetError("no reference images uploaded; upload PNG/JPEG files or one zip of them")
    return images


def _zip_images(name: str, data: bytes, space: InputSpace, policy: ServingPolicy) -> list[tuple[str, np.ndarray]]:
    if len(data) > policy.max_upload_bytes:
        raise ServingRefused(
            f"the uploaded zip {name} is {size_text(len(data))}, over this server's limit of "
            f"{size_text(policy.max_upload_bytes)} per upload ({LIMIT_VARIABLES['max_upload_mb']})"
        )
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError):
        raise ReferenceSetError(f"the uploaded file {name} is not a readable zip; upload images or a .zip") from None
    images = []
    with archive:
        members = [
            info for info in archive.infolist()
            if not info.is_dir() and not info.filename.startswith(SKIPPED_MEMBERS)
            and not Path(info.filename).name.startswith(".")
            and Path(info.filename).suffix.lower() in IMAGE_SUFFIXES
        ]  # fmt: skip
        for info in members[: policy.max_refs + 1]:
            shown = f"{name}:{shorten(info.filename, 60)}"
            if info.file_size > policy.max_upload_bytes:
                raise ServingRefused(
                    f"{shown} unpacks to {size_text(info.file_size)}, over this server's limit of "
                    f"{size_text(policy.max_upload_bytes)} per image ({LIMIT_VARIABLES['max_upload_mb']})"
                )
            try:
                with archive.open(info) as member:  # at most the limit + 1 bytes, whatever the header claims
                    content = member.read(policy.max_upload_bytes + 1)
            except (zipfile.BadZipFile, RuntimeError, OSError, NotImplementedError, EOFError) as error:
                raise ReferenceSetError(f"{shown} cannot be unpacked ({type(error).__name__})") from None
            images.append((shown, uploaded_image(shown, content, space, policy.max_upload_bytes)))
    if not images:
        raise ReferenceSetError(
            f"the uploaded zip {name} holds no image files ({', '.join(IMAGE_SUFFIXES)}); zip the images themselves"
        )
    return images


def to_png(image: np.ndarray, space: InputSpace) -> bytes:
    """``(C, H, W)`` on ``space`` -> PNG bytes that read back (:func:`gifviz.refs.load_image`) as the same image."""
    low, high = space.value_range
    unit = np.clip((image - low) / (high - low), 0.0, 1.0)
    pixels = np.rint(unit * 255.0).astype(np.uint8).transpose(1, 2, 0)
    channels = pixels.shape[-1]
    if channels not in _PIL_MODES:
        raise ReferenceSetError(f"input spaces with {channels} channels cannot be stored as image files")
    buffer = io.BytesIO()
    Image.fromarray(pixels[:, :, 0] if channels == 1 else pixels, _PIL_MODES[channels]).save(buffer, format="PNG")
    return buffer.getvalue()


def use_uploaded_references(
    zoo: WorkingZoo, uploads: Sequence[tuple[str, bytes]], folder: Path, policy: ServingPolicy
) -> str:
    """Convert the uploads to the zoo's space (:func:`uploaded_references`), write them as ``ref_000.png`` ... into
    a new folder under ``folder`` (the visitor's), and make that the zoo's references; saved."""
    images = uploaded_references(uploads, zoo.space, policy)
    number = 1
    while True:  # a new folder each time: references a saved manifest names are never replaced
        target = folder / f"{zoo.path.stem}-refs-{number}"
        try:
            target.mkdir(parents=True)
            break
        except FileExistsError:
            number += 1
    for index, (_, image) in enumerate(images):
        write_file(target / f"ref_{index:03d}.png", to_png(image, zoo.space))
    zoo.set_references(target)
    zoo.save()
    return f"references: {len(images)} uploaded images, converted to {'x'.join(map(str, zoo.space.shape))}"
