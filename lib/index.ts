export * from './image-deletion';
