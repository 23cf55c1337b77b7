declare module 'weir:filter/types@0.2.0' {
  /**
   * A file that travels with the event, such as `image.jpeg` or `mask_0000.png`.
   * 
   * Only the description crosses into the filter; the bytes stay in the host
   * until the filter asks for them with `event.attachment-bytes`, so a filter
   * that never looks at the image never pays for copying it.
   */
  export interface Attachment {
    /**
     * The file name, unique within the event (`image.jpeg`, `mask_0000.png`).
     */
    name: string,
    /**
     * The MIME type the sender declared (`image/jpeg`, `image/png`).
     */
    contentType: string,
    /**
     * The size in bytes.
     */
    size: bigint,
  }
  /**
   * A prediction's bounding box, in the document's own units (pixels, or
   * fractions of the image: whatever the model wrote). `x` and `y` are the
   * top-left corner.
   * 
   * Read from `bbox` (or `box`): an object with `x`, `y`, `width`, `height` (or
   * `w`, `h`), an object with corners `x1`, `y1`, `x2`, `y2` (or `xmin`, `ymin`,
   * `xmax`, `ymax`), or an array `[x, y, width, height]`.
   */
  export interface Bbox {
    x: number,
    y: number,
    width: number,
    height: number,
  }
  /**
   * One prediction, as Weir read it from the predictions document.
   */
  export interface Prediction {
    /**
     * Its place in `event.prediction-list`: what `event.keep-predictions` takes.
     */
    index: number,
    /**
     * The class label (`class`, or `label`).
     */
    'class': string,
    /**
     * The confidence (`confidence` or `score`; in batch job results also
     * `image.confidence`), when the model gives one.
     */
    confidence?: number,
    /**
     * The mask file the prediction refers to (`mask`), for segmentation.
     */
    mask?: string,
    /**
     * The bounding box, when the prediction has one.
     */
    bbox?: Bbox,
    /**
     * The prediction exactly as it appears in the document, as JSON text: for
     * the fields Weir does not read.
     */
    json: string,
  }
  /**
   * Why Weir refused a call: an edit that does not fit the event, a state
   * operation past its limits. The filter may handle it or give up.
   */
  export interface Refusal {
    /**
     * What kind of refusal, for code to branch on. Well-known values:
     * `no-such-prediction`, `no-such-attachment`, `no-such-destination`,
     * `invalid-json`, `too-large`, `not-a-number`, `out-of-range`. Later 0.2.x
     * releases may add kinds: treat an unknown one like any other refusal.
     */
    kind: string,
    /**
     * What went wrong, in words, naming the value.
     */
    message: string,
  }
  /**
   * The outcome of a filter for one event.
   */
  export type Verdict = VerdictKeep | VerdictDrop;
  /**
   * Pass the event on, with the edits made during the call.
   */
  export interface VerdictKeep {
    tag: 'keep',
  }
  /**
   * Stop the event here; the string says why (it is counted and logged).
   */
  export interface VerdictDrop {
    tag: 'drop',
    val: string,
  }
  /**
   * Why a filter could not build itself (`init`) or process an event
   * (`filter`), as opposed to dropping it on purpose.
   */
  export interface FilterError {
    /**
     * What went wrong, for the log and the operator.
     */
    message: string,
    /**
     * Whether the same event could succeed later (a state store over its
     * limits, say). Weir then refuses the event with 503 and `Retry-After`, so
     * the sender sends it again; otherwise the route's failure policy decides.
     */
    retryable: boolean,
  }
  
  export class Event implements Disposable {
    /**
     * This type does not have a public constructor.
     */
    private constructor();
    /**
    * The event id: the sender's `Idempotency-Key` or `webhook-id` when it
    * gave one, otherwise assigned by Weir. Stable across retries.
    */
    id(): string;
    /**
    * The name of the route the event came in on.
    */
    route(): string;
    /**
    * The model's task. Taken from the sender's `X-Weir-Task` header or the
    * predictions' `task` field when present, otherwise recognised from the
    * predictions' shape. Well-known values: `object-detection`,
    * `classification`, `multilabel-classification`, `instance-segmentation`,
    * `semantic-segmentation`, and `other` when nothing tells. Any other
    * lowercase, dash-separated name may come from a sender.
    */
    task(): string;
    /**
    * Metadata key/value pairs that travel with the event (request headers
    * and form fields the sender marked as metadata, and what earlier filters
    * set), in order, keys unique.
    */
    metadata(): Array<[string, string]>;
    /**
    * The value of one metadata entry.
    */
    metadataValue(key: string): string | undefined;
    /**
    * The predictions document as JSON text (`predictions.json`).
    */
    predictions(): string;
    /**
    * The predictions, read by Weir from the document so that filters need not
    * parse JSON: every prediction of a per-image document (`predictions[]`, or
    * a bare array) and of a batch job result (`jobResults[]` and
    * `imageResults[].objects[]`, which list the same detections twice), in
    * document order. Items without a class are not listed.
    */
    predictionList(): Array<Prediction>;
    /**
    * The attachments the event carries, without their bytes.
    */
    attachments(): Array<Attachment>;
    /**
    * The bytes of one attachment, or none when the event has no attachment
    * of that name.
    */
    attachmentBytes(name: string): Uint8Array | undefined;
    /**
    * The names of the destinations the event is currently bound for.
    */
    destinations(): Array<string>;
    /**
    * Keeps only the predictions at these indices of `prediction-list`,
    * removing the others from the document (an image of a batch result left
    * with no objects goes too); Weir edits the document, keeping the rest of
    * it as it was. Refused (`no-such-prediction`) when an index is past the
    * end of the list.
    */
    keepPredictions(indices: Uint32Array): void;
    /**
    * Replaces the predictions document. Refused (`invalid-json`) when the
    * text is not JSON.
    */
    setPredictions(json: string): void;
    /**
    * Removes an attachment. Refused (`no-such-attachment`) when the event has
    * none of that name.
    */
    removeAttachment(name: string): void;
    /**
    * Adds a metadata entry, or overwrites the value of an existing key in
    * place. Refused (`too-large`) past Weir's limits on metadata.
    */
    setMetadata(key: string, value: string): void;
    /**
    * Removes a metadata entry; removing a key that is not there is not an
    * error.
    */
    removeMetadata(key: string): void;
    /**
    * Narrows the destinations to these names, keeping the route's order. Each
    * must be one of the event's current destinations (`destinations`), or the
    * call is refused (`no-such-destination`); an empty list means the event
    * goes nowhere.
    */
    narrowDestinations(names: Array<string>): void;
    [Symbol.dispose](): void;
  }
}
