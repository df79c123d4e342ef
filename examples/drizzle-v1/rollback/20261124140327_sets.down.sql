-- Undo 20261124140327_sets: the sets table with its index and foreign key. Its rows are lost.
DROP TABLE "sets";
