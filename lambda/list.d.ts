/**
 * The repository's listing: DescribeImages, page after page (1,000 images a
 * page, the API's maximum), kept as compact records so that a repository of
 * 100,000 images fits easily in the function's memory.
 */
import { ECRPUBLICClient } from '@aws-sdk/client-ecr-public';
/** One image of the listing: what a selection needs and nothing more. */
export interface ListedImage {
    readonly digest: string;
    readonly tags: readonly string[];
    /** Epoch milliseconds; 0 when the API gave none. */
    readonly pushedAt: number;
    /** The manifest's media type: an image index or manifest list references other images. */
    readonly mediaType?: string;
}
/** Largest page DescribeImages returns (API model: MaxResults 1 to 1000). */
export declare const PAGE_SIZE = 1000;
export interface ListRequest {
    readonly repositoryName: string;
    readonly registryId?: string;
}
/** Lists every image of the repository, following nextToken. */
export declare function listImages(client: ECRPUBLICClient, request: ListRequest, signal?: AbortSignal): Promise<{
    images: ListedImage[];
    pages: number;
}>;
